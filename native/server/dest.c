#include "server/dest.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/unix_address.h"
#include "server/fdpass.h"
#include "server/slot_registry.h"

static uint64_t hash_key(uint32_t kind, int fd, const char *path, uint32_t len) {
  uint64_t h = 1469598103934665603ull ^ kind ^ ((uint64_t)(uint32_t)fd << 8);
  for (uint32_t i = 0; i < len; i++) h = (h ^ (uint8_t)path[i]) * 1099511628211ull;
  return h;
}

int skbox_dest_cache_init(skbox_dest_cache *c, int epfd, uint32_t max) {
  memset(c, 0, sizeof *c);
  c->epfd = epfd;
  c->root.fd = -1;
  c->max = max ? max : 1;
  c->n_buckets = 64;
  while (c->n_buckets < c->max) c->n_buckets *= 2;
  c->buckets = calloc(c->n_buckets, sizeof *c->buckets);
  return c->buckets ? 0 : -1;
}

/* Drops the destination's socket. It leaves the epoll set explicitly: an
 * inherited descriptor or a slot's duplicate shares its file with another
 * descriptor, so closing ours alone would not take it out. */
static void disconnect(skbox_dest_cache *c, skbox_dest *d) {
  if (d->sock >= 0 && d->watching) epoll_ctl(c->epfd, EPOLL_CTL_DEL, d->sock, NULL);
  if (d->sock >= 0 && d->owns_sock) close(d->sock);
  d->sock = -1;
  d->watching = 0;
}

static void unlink_from_bucket(skbox_dest_cache *c, skbox_dest *d) {
  skbox_dest **pp = &c->buckets[d->hash & (c->n_buckets - 1)];
  while (*pp && *pp != d) pp = &(*pp)->hash_next;
  if (*pp) *pp = d->hash_next;
}

static void free_dest(skbox_dest_cache *c, skbox_dest *d) {
  while (d->count > 0) skbox_reset_close(skbox_dest_pop(c, d).fd);
  disconnect(c, d);
  free(d->ring);
  free(d);
  c->count--;
}

void skbox_dest_cache_destroy(skbox_dest_cache *c) {
  for (uint32_t b = 0; c->buckets && b < c->n_buckets; b++) {
    skbox_dest *d = c->buckets[b];
    while (d) {
      skbox_dest *next = d->hash_next;
      free_dest(c, d);
      d = next;
    }
  }
  free(c->buckets);
  c->buckets = NULL;
}

/* Make room by dropping the least recently used destination with no waiters. */
static int evict_one(skbox_dest_cache *c) {
  skbox_dest *victim = NULL;
  for (uint32_t b = 0; b < c->n_buckets; b++)
    for (skbox_dest *d = c->buckets[b]; d; d = d->hash_next)
      if (d->count == 0 && d->staged == 0 && (!victim || d->last_used < victim->last_used)) victim = d;
  if (!victim) return -1;
  unlink_from_bucket(c, victim);
  free_dest(c, victim);
  return 0;
}

skbox_dest *skbox_dest_get(skbox_dest_cache *c, const skbox_target *t, const char *path, uint32_t path_len) {
  int fd = t->kind == SKBOX_TARGET_FD ? t->fd : t->kind == SKBOX_TARGET_SLOT ? (int)t->slot : -1;
  uint64_t h = hash_key(t->kind, fd, path, path_len);
  for (skbox_dest *d = c->buckets[h & (c->n_buckets - 1)]; d; d = d->hash_next) {
    if (d->hash == h && d->kind == t->kind && d->path_len == path_len &&
        (t->kind != SKBOX_TARGET_UNIX ? d->target_fd == fd : memcmp(d->path, path, path_len) == 0)) {
      d->flags = t->flags;
      d->last_used = ++c->use_clock;
      return d;
    }
  }
  if (c->count >= c->max && evict_one(c) < 0) return NULL;
  skbox_dest *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->tag = SKBOX_TAG_DEST;
  d->kind = t->kind;
  d->flags = t->flags;
  d->hash = h;
  d->last_used = ++c->use_clock;
  d->target_fd = fd;
  if (t->kind == SKBOX_TARGET_FD) {
    d->sock = fd;
    d->owns_sock = 0;
  } else if (t->kind == SKBOX_TARGET_SLOT) {
    d->sock = -1; /* taken from the registry at the first send */
    d->owns_sock = 1;
    d->slot = t->slot;
    d->slot_generation = 0;
    snprintf(d->path, sizeof d->path, "o:%u", t->slot); /* how logs name it */
  } else {
    d->sock = -1;
    d->owns_sock = 1;
    memcpy(d->path, path, path_len);
    d->path[path_len] = 0;
    d->path_len = path_len;
  }
  d->hash_next = c->buckets[h & (c->n_buckets - 1)];
  c->buckets[h & (c->n_buckets - 1)] = d;
  c->count++;
  return d;
}

void skbox_dest_cache_set_root(skbox_dest_cache *c, int root_fd, const char *prefix, int allow_abstract) {
  skbox_target_root_init(&c->root, root_fd, prefix, allow_abstract);
}

static int connect_unix(skbox_dest *d, const char *name) {
  struct sockaddr_un sa;
  int len = skbox_unix_address(name, &sa);
  if (len < 0) return -1;
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&sa, (socklen_t)len) < 0) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  d->sock = s;
  d->watching = 0;
  return 0;
}

static int receiver_absent(int e) {
  return e == ENOENT || e == ECONNREFUSED || e == ENOTDIR || e == ENOTSOCK || e == EPROTOTYPE || e == ENOTCONN ||
         e == EPIPE || e == ECONNRESET || e == EDESTADDRREQ;
}

/* Connects d to its path. Under --target-root the path is opened beneath
 * the root first and the connect goes through that descriptor, so it reaches
 * the inode that was checked even if the path is swapped meanwhile. */
static skbox_send_result connect_path(skbox_dest_cache *c, skbox_dest *d) {
  const char *name = d->path;
  char checked_name[SKBOX_PROC_FD_NAME_MAX];
  int checked = -1;
  if (c->root.fd >= 0 && d->path[0] == '@') {
    if (!c->root.allow_abstract) return SKBOX_SEND_FORBIDDEN; /* not a file: nothing to confine */
  } else if (c->root.fd >= 0) {
    checked = skbox_target_root_resolve(&c->root, d->path);
    if (checked < 0) return errno == ENOENT ? SKBOX_SEND_MISSING : SKBOX_SEND_FORBIDDEN;
    skbox_proc_fd_name(checked, checked_name);
    name = checked_name;
  }
  int connected = connect_unix(d, name);
  int e = errno;
  if (checked >= 0) close(checked);
  if (connected == 0) return SKBOX_SEND_OK;
  if (e == EAGAIN) return SKBOX_SEND_AGAIN;
  return receiver_absent(e) ? SKBOX_SEND_MISSING : SKBOX_SEND_ERROR;
}

/* The duplicate d holds belongs to a registration that has since changed. */
static int holds_stale_slot(const skbox_dest *d) {
  return d->sock >= 0 && skbox_slot_generation(d->slot) != d->slot_generation;
}

/* A slot's receiver changed (registered, gone, replaced): drop our duplicate
 * of the old one and take one of the new. */
static void refresh_slot(skbox_dest_cache *c, skbox_dest *d) {
  if (d->sock >= 0 && !holds_stale_slot(d)) return;
  disconnect(c, d);
  d->sock = skbox_slot_dup(d->slot, &d->slot_generation);
}

void skbox_dest_drop_stale_slots(skbox_dest_cache *c) {
  for (uint32_t b = 0; b < c->n_buckets; b++)
    for (skbox_dest *d = c->buckets[b]; d; d = d->hash_next)
      if (d->kind == SKBOX_TARGET_SLOT && d->count == 0 && holds_stale_slot(d)) disconnect(c, d);
}

static skbox_send_result send_to_slot(skbox_dest_cache *c, skbox_dest *d, int fd) {
  static const unsigned char payload[4] = {3, 0, 0, 0}; /* one connection: docs/wire-protocol.md#registration */
  refresh_slot(c, d);
  if (d->sock < 0) return SKBOX_SEND_NO_RECEIVER;
  if (skbox_send_fd_with(d->sock, fd, payload, sizeof payload) == 0) return SKBOX_SEND_OK;
  if (errno == EAGAIN || errno == EWOULDBLOCK) return SKBOX_SEND_AGAIN;
  /* The receiver is gone; the registration server will clear the slot when it sees it. */
  return receiver_absent(errno) ? SKBOX_SEND_NO_RECEIVER : SKBOX_SEND_ERROR;
}

skbox_send_result skbox_dest_send(skbox_dest_cache *c, skbox_dest *d, int fd) {
  if (d->kind == SKBOX_TARGET_SLOT) return send_to_slot(c, d, fd);
  if (d->kind == SKBOX_TARGET_FD) {
    if (skbox_send_fd(d->sock, fd) == 0) return SKBOX_SEND_OK;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return SKBOX_SEND_AGAIN;
    return receiver_absent(errno) ? SKBOX_SEND_PEER_GONE : SKBOX_SEND_ERROR;
  }
  /* A cached socket whose receiver went away fails with ECONNREFUSED; a
   * receiver that came back has a new socket at the path: reconnect once. */
  for (int attempt = 0; attempt < 2; attempt++) {
    if (d->sock < 0) {
      skbox_send_result r = connect_path(c, d);
      if (r != SKBOX_SEND_OK) return r;
    }
    if (skbox_send_fd(d->sock, fd) == 0) return SKBOX_SEND_OK;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return SKBOX_SEND_AGAIN;
    int e = errno;
    disconnect(c, d);
    if (!receiver_absent(e)) return SKBOX_SEND_ERROR;
  }
  return SKBOX_SEND_MISSING;
}

skbox_send_result skbox_dest_connect(skbox_dest_cache *c, skbox_dest *d) {
  if (d->kind == SKBOX_TARGET_SLOT || d->kind == SKBOX_TARGET_FD || d->sock >= 0) return SKBOX_SEND_OK;
  return connect_path(c, d);
}

int skbox_dest_send_burst(skbox_dest *d, const int *fds, unsigned n) {
  if (d->kind == SKBOX_TARGET_SLOT || d->sock < 0) return 0;
  return skbox_send_fd_burst(d->sock, fds, n);
}

int skbox_dest_push(skbox_dest_cache *c, skbox_dest *d, skbox_pending p) {
  if (d->count == d->cap) {
    uint32_t cap = d->cap ? d->cap * 2 : 16;
    skbox_pending *ring = malloc(cap * sizeof *ring);
    if (!ring) return -1;
    for (uint32_t i = 0; i < d->count; i++) ring[i] = d->ring[(d->head + i) % d->cap];
    free(d->ring);
    d->ring = ring;
    d->head = 0;
    d->cap = cap;
  }
  d->ring[(d->head + d->count) % d->cap] = p;
  if (d->count++ == 0) {
    d->wait_prev = NULL;
    d->wait_next = c->waiting;
    if (c->waiting) c->waiting->wait_prev = d;
    c->waiting = d;
  }
  return 0;
}

skbox_pending skbox_dest_pop(skbox_dest_cache *c, skbox_dest *d) {
  skbox_pending p = d->ring[d->head];
  d->head = (d->head + 1) % d->cap;
  if (--d->count == 0) {
    if (d->wait_prev) d->wait_prev->wait_next = d->wait_next;
    else c->waiting = d->wait_next;
    if (d->wait_next) d->wait_next->wait_prev = d->wait_prev;
    d->wait_prev = d->wait_next = NULL;
    /* Release the ring of a burst so idle destinations stay small. */
    if (d->cap > 64) {
      free(d->ring);
      d->ring = NULL;
      d->cap = 0;
      d->head = 0;
    }
  }
  return p;
}

void skbox_dest_watch(skbox_dest_cache *c, skbox_dest *d, int on) {
  if (d->sock < 0 || on == d->watching) return;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = d};
  if (on) {
    if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, d->sock, &ev) == 0 || errno == EEXIST) d->watching = 1;
  } else {
    epoll_ctl(c->epfd, EPOLL_CTL_DEL, d->sock, NULL);
    d->watching = 0;
  }
}
