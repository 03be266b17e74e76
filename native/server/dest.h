/* Destinations: one cached, connected datagram socket per distinct target
 * path (or the inherited descriptor of a jump-fd / -i target), each with a
 * FIFO of connections waiting for room in the receiver's queue. */
#ifndef SKBOX_DEST_H
#define SKBOX_DEST_H

#include <stdint.h>

#include "server/table.h"
#include "server/target_root.h"

#define SKBOX_TAG_DEST 0x44455354 /* first member of epoll-registered objects */

/* One accepted connection on its way: what settling it needs to know. */
typedef struct {
  int fd;
  uint32_t slot;        /* the target's counter slot */
  uint64_t accepted_us; /* CLOCK_MONOTONIC microseconds at accept */
  skbox_tuple tuple;    /* for the access log */
} skbox_pending;

typedef enum {
  SKBOX_SEND_OK,
  SKBOX_SEND_AGAIN,     /* the receiver's queue is full: wait for EPOLLOUT */
  SKBOX_SEND_MISSING,   /* nobody listens at the path */
  SKBOX_SEND_PEER_GONE, /* an inherited descriptor's peer has closed */
  SKBOX_SEND_ERROR,
  SKBOX_SEND_FORBIDDEN,   /* the path leaves --target-root */
  SKBOX_SEND_NO_RECEIVER, /* a registration slot nobody (or nobody alive) holds */
} skbox_send_result;

typedef struct skbox_dest {
  int tag;
  uint32_t kind, flags;
  int sock;      /* connected socket, the inherited fd, or -1 */
  int owns_sock; /* 0 for inherited descriptors */
  int target_fd; /* the inherited descriptor of a SKBOX_TARGET_FD, else -1 */
  uint32_t slot; /* SKBOX_TARGET_SLOT: the slot; sock is this loop's duplicate */
  uint64_t slot_generation;
  int watching; /* registered for EPOLLOUT */
  char path[SKBOX_UNIX_PATH_MAX + 1];
  uint32_t path_len;
  uint64_t hash, last_used;
  struct skbox_dest *hash_next;
  skbox_pending *ring;
  uint32_t head, count, cap;
  uint32_t staged; /* connections the loop will send at the end of its take: not evicted meanwhile */
  struct skbox_dest *wait_prev, *wait_next; /* on the cache's list of dests with waiters */
} skbox_dest;

typedef struct {
  skbox_dest **buckets;
  uint32_t n_buckets, count, max;
  int epfd;
  uint64_t use_clock;
  skbox_dest *waiting;    /* dests whose queue is not empty */
  skbox_target_root root; /* --target-root; root.fd is -1 without one */
} skbox_dest_cache;

int skbox_dest_cache_init(skbox_dest_cache *c, int epfd, uint32_t max);
/* Frees every destination. Connections still waiting are reset: settle and
 * count them first (the cache cannot count them), none is ever leaked. */
void skbox_dest_cache_destroy(skbox_dest_cache *c);

/* Finds or creates the destination for a target (path already substituted).
 * Returns NULL when the cache is full of destinations that still hold
 * waiting connections. */
skbox_dest *skbox_dest_get(skbox_dest_cache *c, const skbox_target *t, const char *path, uint32_t path_len);

/* One attempt to hand fd over; reconnects once when the receiver restarted. */
skbox_send_result skbox_dest_send(skbox_dest_cache *c, skbox_dest *d, int fd);

/* Connects a path destination that has no socket yet, as its first send would (the same
 * results); any other destination is ready as it is (SKBOX_SEND_OK). */
skbox_send_result skbox_dest_connect(skbox_dest_cache *c, skbox_dest *d);

/* Hands fds[0..n) over in one sendmmsg, in order, when the destination is a connected path or
 * an inherited descriptor. Returns how many went, the first ones: fewer than n means the
 * receiver's queue filled up (or it failed after the first: the next attempt will say). -1 with
 * errno when not even the first went. 0 for a destination that takes no bursts (a slot, whose
 * messages differ, or one not connected yet): skbox_dest_send then, one by one, which also
 * reconnects and tells a full receiver from a missing one. */
int skbox_dest_send_burst(skbox_dest *d, const int *fds, unsigned n);

/* Queue management; push fails (returns -1) only when memory runs out. */
int skbox_dest_push(skbox_dest_cache *c, skbox_dest *d, skbox_pending p);
skbox_pending skbox_dest_pop(skbox_dest_cache *c, skbox_dest *d);
static inline const skbox_pending *skbox_dest_head(const skbox_dest *d) {
  return d->count ? &d->ring[d->head] : 0;
}

/* Confine UNIX target paths to the directory root_fd (opened from prefix,
 * see target_root.h): relative paths start there, absolute ones must start
 * with prefix, and the socket connected to is the one checked. Abstract names
 * are refused unless allow_abstract. root_fd is owned by the caller. */
void skbox_dest_cache_set_root(skbox_dest_cache *c, int root_fd, const char *prefix, int allow_abstract);

/* A slot's receiver changed (see slot_registry.h): close the duplicates of
 * old registrations that idle destinations still hold, so a receiver that is
 * gone is not kept open until its slot's next connection. Destinations with
 * waiters keep theirs: their next send settles them against the new state. */
void skbox_dest_drop_stale_slots(skbox_dest_cache *c);

/* Ask epoll for EPOLLOUT on the destination while it has waiters. */
void skbox_dest_watch(skbox_dest_cache *c, skbox_dest *d, int on);

#endif
