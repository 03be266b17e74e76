/* Intrusive doubly linked lists (a connection sits on several at once, without allocating). */
#ifndef SKBOX_RELAY_CONN_LIST_H
#define SKBOX_RELAY_CONN_LIST_H

#include <stddef.h>

struct skbox_relay_link {
  struct skbox_relay_link *prev, *next;
};

#define SKBOX_RELAY_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void skbox_relay_list_init(struct skbox_relay_link *head) {
  head->prev = head->next = head;
}

static inline int skbox_relay_list_empty(const struct skbox_relay_link *head) {
  return head->next == head;
}

/* A link that is on no list points at itself. */
static inline int skbox_relay_link_linked(const struct skbox_relay_link *l) {
  return l->next != l && l->next != NULL;
}

static inline void skbox_relay_list_push_back(struct skbox_relay_link *head, struct skbox_relay_link *l) {
  l->prev = head->prev;
  l->next = head;
  head->prev->next = l;
  head->prev = l;
}

static inline void skbox_relay_list_remove(struct skbox_relay_link *l) {
  l->prev->next = l->next;
  l->next->prev = l->prev;
  l->prev = l->next = l;
}

#endif
