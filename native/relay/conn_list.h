/* Intrusive doubly linked lists (a connection sits on several at once, without allocating). */
#ifndef RLY_CONN_LIST_H
#define RLY_CONN_LIST_H

#include <stddef.h>

struct rly_link {
  struct rly_link *prev, *next;
};

#define RLY_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static inline void rly_list_init(struct rly_link *head) { head->prev = head->next = head; }

static inline int rly_list_empty(const struct rly_link *head) { return head->next == head; }

/* A link that is on no list points at itself. */
static inline int rly_link_linked(const struct rly_link *l) { return l->next != l && l->next != NULL; }

static inline void rly_list_push_back(struct rly_link *head, struct rly_link *l) {
  l->prev = head->prev;
  l->next = head;
  head->prev->next = l;
  head->prev = l;
}

static inline void rly_list_remove(struct rly_link *l) {
  l->prev->next = l->next;
  l->next->prev = l->prev;
  l->prev = l->next = l;
}

#endif
