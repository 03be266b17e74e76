#include "server/accept_loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/fd_receive.h"
#include "common/ip_endpoint.h"
#include "server/access_log.h"
#include "server/close_many.h"
#include "server/dest.h"
#include "server/fdpass.h"
#include "server/lookup.h"
#include "server/path_subst.h"
#include "server/slot_registry.h"
#include "server/stats.h"
#include "server/thread_sched.h"

#define TAG_LISTENER 0x4c495354
#define TAG_CONTROL 0x4354524c
#define ACCEPT_BATCH 64
#define EVENT_BATCH 64
#define NOFILE_BACKOFF_MS 100
/* --sched-policy adaptive: a wake-up that takes this many connections, or finds connections
 * waiting for a receiver, is a burst; this many wake-ups in a row without one is quiet. */
#define BURST_TAKE 4
#define QUIET_WAKEUPS 64

typedef struct {
  int tag;
  int fd;
  uint32_t index; /* position among the loop's listeners: the JSON incoming_socket */
  int drain_backlog_on_stop;
} listener;

struct skbox_loop {
  int epfd, ctl_fd, ctl_tag;
  listener *listeners;
  int n_listeners, listening;
  skbox_loop_options opt;
  uint64_t *stats;
  uint64_t *target_stats;  /* SKBOX_TARGET_STAT_COUNT * SKBOX_TARGET_SLOTS counters */
  skbox_table *table;      /* only touched by the loop thread */
  skbox_table *next_table; /* handed over with atomic exchange */
  int stop_requested;      /* atomic */
  int leave_backlogs;      /* atomic: the stop is a live upgrade's (no backlog is ours) */
  int abandon_requested;   /* atomic */
  int running;             /* atomic: a thread is inside skbox_loop_run */
  int watching_slots;      /* ctl_fd is woken on every slot change */
  uint64_t slot_changes_seen;
  skbox_dest_cache dests;
  uint32_t pending_total;
  int paused;
  uint64_t resume_at_ms;
  int exit_status, fatal_errno;
  /* The connections of one take, decided and sent together at its end (flush_staged), and the
   * descriptors handed over since the last close (close_handed_over). */
  struct staged_connection {
    skbox_dest *dest; /* NULL once sent with an earlier one to the same destination */
    skbox_pending conn;
  } staged[ACCEPT_BATCH];
  unsigned n_staged;
  int handed_over[ACCEPT_BATCH];
  unsigned n_handed_over;
  int batch_policy;       /* adaptive: the thread is in SCHED_BATCH now */
  unsigned quiet_wakeups; /* adaptive: wake-ups in a row without a burst */
};

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_ms(void) {
  return now_us() / 1000u;
}

skbox_loop *skbox_loop_create(const skbox_loop_listener *listeners, int n_listen, const skbox_loop_options *opt,
                              uint64_t *stats, uint64_t *target_stats, const char **why) {
  skbox_loop *L = calloc(1, sizeof *L);
  if (!L) {
    *why = "out of memory";
    return NULL;
  }
  L->epfd = epoll_create1(EPOLL_CLOEXEC);
  L->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  L->listeners = calloc(n_listen > 0 ? n_listen : 1, sizeof *L->listeners);
  L->ctl_tag = TAG_CONTROL;
  L->opt = *opt;
  L->stats = stats;
  L->target_stats = target_stats;
  if (L->epfd < 0 || L->ctl_fd < 0 || !L->listeners ||
      skbox_dest_cache_init(&L->dests, L->epfd, opt->max_cached_targets) < 0) {
    *why = "cannot create the loop's epoll set, eventfd or caches";
    skbox_loop_destroy(L);
    return NULL;
  }
  L->watching_slots = skbox_slot_watch(L->ctl_fd) == 0;
  if (!L->watching_slots) {
    *why = "too many accept loops";
    skbox_loop_destroy(L);
    return NULL;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &L->ctl_tag};
  epoll_ctl(L->epfd, EPOLL_CTL_ADD, L->ctl_fd, &ev);
  for (int i = 0; i < n_listen; i++)
    L->listeners[i] = (listener){TAG_LISTENER, listeners[i].fd, (uint32_t)i, listeners[i].drain_backlog_on_stop};
  L->n_listeners = n_listen;
  return L;
}

void skbox_loop_publish(skbox_loop *L, skbox_table *table) {
  skbox_table *unseen = __atomic_exchange_n(&L->next_table, table, __ATOMIC_ACQ_REL);
  skbox_table_free(unseen); /* the loop never took it, so nobody holds it */
  uint64_t one = 1;
  (void)!write(L->ctl_fd, &one, sizeof one);
}

void skbox_loop_ping(skbox_loop *L) {
  uint64_t one = 1;
  (void)!write(L->ctl_fd, &one, sizeof one);
}

void skbox_loop_request_stop(skbox_loop *L) {
  __atomic_store_n(&L->stop_requested, 1, __ATOMIC_RELEASE);
  uint64_t one = 1;
  (void)!write(L->ctl_fd, &one, sizeof one);
}

void skbox_loop_request_handover(skbox_loop *L) {
  __atomic_store_n(&L->leave_backlogs, 1, __ATOMIC_RELEASE);
  skbox_loop_request_stop(L);
}

void skbox_loop_request_abandon(skbox_loop *L) {
  __atomic_store_n(&L->abandon_requested, 1, __ATOMIC_RELEASE);
  uint64_t one = 1;
  (void)!write(L->ctl_fd, &one, sizeof one);
}

void skbox_loop_set_target_root(skbox_loop *L, int root_fd, const char *prefix, int allow_abstract) {
  skbox_dest_cache_set_root(&L->dests, root_fd, prefix, allow_abstract);
}

int skbox_loop_fatal_errno(const skbox_loop *L) {
  return L->fatal_errno;
}

static void expire_waiters(skbox_loop *L, uint64_t now, int everything, enum skbox_stat reason);

void skbox_loop_destroy(skbox_loop *L) {
  if (!L) return;
  if (L->watching_slots) skbox_slot_unwatch(L->ctl_fd);
  /* A loop left without finishing (abandoned, then given up) still has its
   * waiters: the process is stopping, so they are reset and counted as such. */
  expire_waiters(L, now_ms(), 1, SKBOX_STAT_REFUSED_DRAINING);
  skbox_dest_cache_destroy(&L->dests);
  skbox_table_free(L->table);
  skbox_table_free(L->next_table);
  if (L->epfd >= 0) close(L->epfd);
  if (L->ctl_fd >= 0) close(L->ctl_fd);
  free(L->listeners);
  free(L);
}

/* Listeners are shared between workers without SO_REUSEPORT: EPOLLEXCLUSIVE
 * wakes one waiter per connection instead of all of them. */
static void set_listening(skbox_loop *L, int on) {
  if (L->listening == on) return;
  for (int i = 0; i < L->n_listeners; i++) {
    if (on) {
      struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &L->listeners[i]};
      epoll_ctl(L->epfd, EPOLL_CTL_ADD, L->listeners[i].fd, &ev);
    } else {
      epoll_ctl(L->epfd, EPOLL_CTL_DEL, L->listeners[i].fd, NULL);
    }
  }
  L->listening = on;
}

static void adopt_published_table(skbox_loop *L) {
  skbox_table *t = __atomic_exchange_n(&L->next_table, NULL, __ATOMIC_ACQ_REL);
  if (!t) return;
  skbox_table_free(L->table);
  L->table = t;
  skbox_stat_add(L->stats, SKBOX_STAT_TABLES_ADOPTED, 1);
}

/* A registration slot changed (its receiver may be gone): let go of stale
 * duplicates now rather than at that slot's next connection. */
static void drop_stale_slots(skbox_loop *L) {
  uint64_t changes = skbox_slot_changes();
  if (changes == L->slot_changes_seen) return;
  L->slot_changes_seen = changes;
  skbox_dest_drop_stale_slots(&L->dests);
}

/* The access log's outcome word: the counter's label, which is also the metrics' reason. */
static const char *outcome_name(enum skbox_stat s) {
  const char *label = skbox_stat_label(s);
  return label[0] ? label : "send_error";
}

static void log_outcome(skbox_loop *L, const skbox_pending *c, const char *target, enum skbox_stat outcome) {
  if (L->opt.access_log != SKBOX_ACCESS_LOG_OFF)
    skbox_access_log(L->opt.log_sink, L->opt.access_log, &c->tuple, target ? target : "-", outcome_name(outcome),
                     now_us() - c->accepted_us);
}

/* Close a connection that will not be delivered, count why (and log it). With a target, its
 * slot is set and the refusal is also counted for that target. */
static void refuse(skbox_loop *L, const skbox_pending *c, const char *target, enum skbox_stat reason, int reset) {
  if (reset) skbox_reset_close(c->fd);
  else close(c->fd);
  skbox_stat_add(L->stats, reason, 1);
  if (target) skbox_stat_add(L->target_stats, SKBOX_TARGET_REFUSED(c->slot), 1);
  log_outcome(L, c, target, reason);
  if (L->paused) L->resume_at_ms = 0; /* a descriptor was freed: intake may resume */
}

/* Our copies of the descriptors receivers now hold, closed a burst at a time: every function
 * that hands connections over ends with this, so none is kept past it. */
static void close_handed_over(skbox_loop *L) {
  skbox_close_many(L->handed_over, L->n_handed_over);
  L->n_handed_over = 0;
}

static void hand_over(skbox_loop *L, int fd) {
  if (L->n_handed_over == ACCEPT_BATCH) close_handed_over(L);
  L->handed_over[L->n_handed_over++] = fd;
}

/* Settle a connection after a send attempt that did not ask it to wait. */
static void settle(skbox_loop *L, skbox_dest *d, skbox_pending p, skbox_send_result r) {
  const char *target = d->kind == SKBOX_TARGET_FD ? "fd" : d->path;
  switch (r) {
    case SKBOX_SEND_OK:
      hand_over(L, p.fd);
      skbox_stat_add(L->stats, SKBOX_STAT_DELIVERED, 1);
      skbox_stat_add(L->target_stats, SKBOX_TARGET_DELIVERED(p.slot), 1);
      skbox_stat_latency(L->stats, now_us() - p.accepted_us);
      log_outcome(L, &p, target, SKBOX_STAT_DELIVERED);
      if (L->paused) L->resume_at_ms = 0;
      return;
    case SKBOX_SEND_PEER_GONE:
      if (d->flags & SKBOX_TARGET_FLAG_EXIT_ON_PEER_GONE) L->exit_status = SKBOX_LOOP_PEER_GONE;
      refuse(L, &p, target, SKBOX_STAT_REFUSED_TARGET_MISSING, 1);
      return;
    case SKBOX_SEND_MISSING: refuse(L, &p, target, SKBOX_STAT_REFUSED_TARGET_MISSING, 1); return;
    case SKBOX_SEND_FORBIDDEN: refuse(L, &p, target, SKBOX_STAT_REFUSED_OUTSIDE_ROOT, 1); return;
    case SKBOX_SEND_NO_RECEIVER: refuse(L, &p, target, SKBOX_STAT_REFUSED_NO_RECEIVER, 1); return;
    default: refuse(L, &p, target, SKBOX_STAT_REFUSED_SEND_ERROR, 1); return;
  }
}

static void enqueue(skbox_loop *L, skbox_dest *d, skbox_pending p) {
  if (L->pending_total >= L->opt.max_pending || d->count >= L->opt.max_pending_per_target ||
      skbox_dest_push(&L->dests, d, p) < 0) {
    refuse(L, &p, d->path, SKBOX_STAT_REFUSED_QUEUE_FULL, 1);
    return;
  }
  L->pending_total++;
  skbox_stat_add(L->stats, SKBOX_STAT_PENDING, 1);
  skbox_stat_add(L->target_stats, SKBOX_TARGET_PENDING(p.slot), 1);
  skbox_dest_watch(&L->dests, d, 1);
}

static skbox_pending take_waiter(skbox_loop *L, skbox_dest *d) {
  skbox_pending p = skbox_dest_pop(&L->dests, d);
  L->pending_total--;
  skbox_stat_add(L->stats, SKBOX_STAT_PENDING, -1);
  skbox_stat_add(L->target_stats, SKBOX_TARGET_PENDING(p.slot), -1);
  return p;
}

/* How a burst to one destination went, and so what becomes of the connections it did not send. */
enum burst_outcome {
  BURST_ALL_SENT,
  BURST_RECEIVER_FULL, /* the rest wait for EPOLLOUT, in order, with no send more */
  BURST_ONE_BY_ONE,    /* not tried (one connection, a slot, not connected) or the first failed:
                          one send of its own reconnects or tells why */
};

/* fds[0..n) to d in one sendmmsg; *sent is how many went, the first ones. */
static enum burst_outcome send_burst(skbox_dest *d, const int *fds, unsigned n, unsigned *sent) {
  int r = n > 1 ? skbox_dest_send_burst(d, fds, n) : 0;
  *sent = r > 0 ? (unsigned)r : 0;
  if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? BURST_RECEIVER_FULL : BURST_ONE_BY_ONE;
  if (*sent == n) return BURST_ALL_SENT;
  return *sent > 0 ? BURST_RECEIVER_FULL : BURST_ONE_BY_ONE;
}

/* Up to ACCEPT_BATCH of d's waiters in one burst; settles those that went. */
static enum burst_outcome send_waiters(skbox_loop *L, skbox_dest *d) {
  int fds[ACCEPT_BATCH];
  unsigned n = 0, sent;
  for (; n < d->count && n < ACCEPT_BATCH; n++) fds[n] = d->ring[(d->head + n) % d->cap].fd;
  enum burst_outcome how = send_burst(d, fds, n, &sent);
  for (unsigned k = 0; k < sent; k++) settle(L, d, take_waiter(L, d), SKBOX_SEND_OK);
  return how;
}

/* EPOLLOUT on a destination: send its waiters in order until it is full again. */
static void flush_dest(skbox_loop *L, skbox_dest *d) {
  const skbox_pending *head;
  while ((head = skbox_dest_head(d))) {
    enum burst_outcome how = send_waiters(L, d);
    if (how == BURST_ALL_SENT) continue;
    if (how == BURST_RECEIVER_FULL) break;
    skbox_send_result r = skbox_dest_send(&L->dests, d, head->fd);
    if (r == SKBOX_SEND_AGAIN) break;
    settle(L, d, take_waiter(L, d), r);
  }
  skbox_dest_watch(&L->dests, d, d->count > 0);
  close_handed_over(L);
}

static void expire_waiters(skbox_loop *L, uint64_t now, int everything, enum skbox_stat reason) {
  skbox_dest *d = L->dests.waiting;
  while (d) {
    skbox_dest *next = d->wait_next; /* popping the last waiter unlinks d */
    const skbox_pending *head;
    while ((head = skbox_dest_head(d)) &&
           /* deadline form: a waiter accepted after `now` was read is simply not due */
           (everything || head->accepted_us / 1000u + L->opt.dispatch_timeout_ms <= now)) {
      skbox_pending p = take_waiter(L, d);
      refuse(L, &p, d->path, reason, 1);
    }
    if (d->count == 0) skbox_dest_watch(&L->dests, d, 0);
    d = next;
  }
}

static int64_t next_waiter_deadline(const skbox_loop *L) {
  int64_t best = -1;
  for (const skbox_dest *d = L->dests.waiting; d; d = d->wait_next) {
    int64_t due = (int64_t)(skbox_dest_head(d)->accepted_us / 1000u + L->opt.dispatch_timeout_ms);
    if (best < 0 || due < best) best = due;
  }
  return best;
}

/* One end into the tuple: end 0 is the local one, end 1 the remote one. */
static void put_end(skbox_tuple *t, int which, const struct skbox_ip_endpoint *end) {
  memcpy(&t->bytes[which * 16], end->addr, 16);
  t->bytes[32 + which * 2] = (uint8_t)(end->port >> 8); /* big-endian, as the table's tuple */
  t->bytes[33 + which * 2] = (uint8_t)end->port;
}

/* The local end costs a getsockname: read only when asked; otherwise it stays zero. */
static void read_local_end(int fd, skbox_tuple *t) {
  struct skbox_ip_endpoint end;
  if (skbox_ip_endpoint_of(fd, 0, &end) != 0) memset(&end, 0, sizeof end);
  put_end(t, 0, &end);
}

/* --source-rate: one token from the bucket of the connection's source prefix, or the
 * connection is reset at once. Reset (SO_LINGER 0) rather than closed: the kernel frees the
 * socket at once instead of keeping it in TIME_WAIT, which a flood would fill, and the
 * client sees a refusal, not an empty answer. */
static int admit_source(skbox_loop *L, skbox_pending *c) {
  skbox_source_rate_change change;
  int admitted = skbox_source_rate_admit(L->opt.source_rate, &c->tuple.bytes[16], c->accepted_us, &change);
  if (change.added) skbox_stat_add(L->stats, SKBOX_STAT_SOURCE_RATE_ENTRIES, 1);
  if (change.evicted) skbox_stat_add(L->stats, SKBOX_STAT_SOURCE_RATE_EVICTIONS, 1);
  if (admitted) return 1;
  if (L->opt.access_log != SKBOX_ACCESS_LOG_OFF) read_local_end(c->fd, &c->tuple);
  refuse(L, c, NULL, SKBOX_STAT_REFUSED_RATE_LIMITED, 1);
  return 0;
}

static void flush_staged(skbox_loop *L);

static void dispatch(skbox_loop *L, const listener *from, int fd, const struct sockaddr_storage *peer) {
  skbox_pending c = {.fd = fd, .slot = 0, .accepted_us = now_us()};
  struct skbox_ip_endpoint remote;
  skbox_ip_endpoint_from(peer, &remote);
  put_end(&c.tuple, 1, &remote);
  if (L->opt.source_rate && !admit_source(L, &c)) return;
  /* The access log prints the local end; otherwise only a table that decides by it needs it. */
  if (L->opt.access_log != SKBOX_ACCESS_LOG_OFF || (L->table && L->table->reads_local_end)) read_local_end(fd, &c.tuple);
  if (L->opt.clear_transparent) {
    int off = 0;
    if (peer->ss_family == AF_INET6 && setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &off, sizeof off) < 0) {
      refuse(L, &c, NULL, SKBOX_STAT_REFUSED_SEND_ERROR, 1);
      return;
    }
  }
  if (!L->table) {
    refuse(L, &c, NULL, SKBOX_STAT_REFUSED_NO_MATCH, 0);
    return;
  }
  skbox_decision dec = skbox_lookup(L->table, from->index, &c.tuple);
  switch (dec.kind) {
    case SKBOX_DECIDE_FAIL: refuse(L, &c, NULL, SKBOX_STAT_REFUSED_FAIL, 0); return;
    case SKBOX_DECIDE_NO_MATCH: refuse(L, &c, NULL, SKBOX_STAT_REFUSED_NO_MATCH, 0); return;
    case SKBOX_DECIDE_LOOP: refuse(L, &c, NULL, SKBOX_STAT_REFUSED_LOOP, 0); return;
    case SKBOX_DECIDE_TARGET: break;
  }
  const skbox_target *t = &L->table->targets[dec.target_index];
  char path[SKBOX_UNIX_PATH_MAX + 1];
  memcpy(path, t->path, t->path_len + 1);
  if (t->flags & SKBOX_TARGET_FLAG_TEMPLATE) skbox_substitute_path(path, t->path_len, &c.tuple);
  c.slot = L->table->slots[dec.target_index];
  skbox_dest *d = skbox_dest_get(&L->dests, t, path, t->path_len);
  if (!d && L->n_staged > 0) {
    /* Every cached destination holds connections of this take: send them, which frees one. */
    flush_staged(L);
    d = skbox_dest_get(&L->dests, t, path, t->path_len);
  }
  if (!d) {
    refuse(L, &c, path, SKBOX_STAT_REFUSED_SEND_ERROR, 1);
    return;
  }
  if (d->count > 0) { /* keep order: queue behind the ones already waiting */
    enqueue(L, d, c);
    return;
  }
  /* Connected now, as a send now would: the take may yet use up every free descriptor. */
  skbox_send_result ready = skbox_dest_connect(&L->dests, d);
  if (ready != SKBOX_SEND_OK && ready != SKBOX_SEND_AGAIN) {
    settle(L, d, c, ready);
    return;
  }
  d->staged++;
  L->staged[L->n_staged++] = (struct staged_connection){.dest = d, .conn = c};
}

/* One connection, one send: queued behind its destination's waiters, or when it is full. */
static void deliver(skbox_loop *L, skbox_dest *d, skbox_pending c) {
  if (d->count > 0) {
    enqueue(L, d, c);
    return;
  }
  skbox_send_result r = skbox_dest_send(&L->dests, d, c.fd);
  if (r == SKBOX_SEND_AGAIN) enqueue(L, d, c);
  else settle(L, d, c, r);
}

/* The end of a take: each destination gets its connections in one sendmmsg, in the order they
 * were accepted; what that did not send (a full or gone receiver, a destination not connected
 * yet) is delivered one by one, exactly as a lone connection is. */
static void flush_staged(skbox_loop *L) {
  for (unsigned i = 0; i < L->n_staged; i++) {
    skbox_dest *d = L->staged[i].dest;
    if (!d) continue;
    skbox_pending burst[ACCEPT_BATCH];
    int fds[ACCEPT_BATCH];
    unsigned n = 0;
    for (unsigned j = i; j < L->n_staged; j++) {
      if (L->staged[j].dest != d) continue;
      burst[n] = L->staged[j].conn;
      fds[n++] = L->staged[j].conn.fd;
      L->staged[j].dest = NULL;
    }
    d->staged = 0;
    unsigned sent;
    enum burst_outcome how = send_burst(d, fds, n, &sent);
    for (unsigned k = 0; k < sent; k++) settle(L, d, burst[k], SKBOX_SEND_OK);
    for (unsigned k = sent; k < n; k++) {
      if (how == BURST_RECEIVER_FULL) enqueue(L, d, burst[k]);
      else deliver(L, d, burst[k]);
    }
  }
  L->n_staged = 0;
  close_handed_over(L);
}

static int accept_error_is_transient(int e) {
  switch (e) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case ENOPROTOOPT:
    case EOPNOTSUPP:
    case ETIMEDOUT:
    case ENOSR: return 1;
    default: return 0;
  }
}

/* Out of descriptors or memory: stop polling the listeners (the backlog keeps
 * the clients) until something is freed or a short back-off has passed. */
static void pause_intake(skbox_loop *L, uint64_t now) {
  set_listening(L, 0);
  L->paused = 1;
  L->resume_at_ms = now + NOFILE_BACKOFF_MS;
  skbox_stat_add(L->stats, SKBOX_STAT_ACCEPT_PAUSES, 1);
}

/* Accepts up to ACCEPT_BATCH connections; returns how many it took. */
static int accept_batch(skbox_loop *L, const listener *l, uint64_t now) {
  int taken = 0;
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    /* Blocking mode on purpose: file status flags travel with the descriptor
     * and receivers (inetd children, daemons) expect an ordinary socket. */
    int fd = accept4(l->fd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) return taken;
      skbox_stat_add(L->stats, SKBOX_STAT_ACCEPT_ERRORS, 1);
      skbox_stat_add(L->stats, SKBOX_STAT_ACCEPT_ERRNO + (e < SKBOX_ACCEPT_ERRNO_COUNTERS ? e : 0), 1);
      if (accept_error_is_transient(e)) continue;
      if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        pause_intake(L, now);
        return taken;
      }
      L->exit_status = SKBOX_LOOP_ACCEPT_FAILED;
      L->fatal_errno = e;
      return taken;
    }
    if (peer.ss_family != AF_INET6 && peer.ss_family != AF_INET) peer.ss_family = AF_UNSPEC;
    skbox_stat_add(L->stats, SKBOX_STAT_ACCEPTED, 1);
    taken++;
    dispatch(L, l, fd, &peer);
    if (L->exit_status) return taken;
  }
  return taken;
}

/* -P: connections arrive as descriptors over our registration at another
 * server. Takes up to ACCEPT_BATCH; returns how many messages it read. */
static int receive_batch(skbox_loop *L, const listener *l, uint64_t now) {
  int taken = 0;
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    struct skbox_received got;
    enum skbox_receive_status st = skbox_receive_fd(l->fd, 2, 0, &got);
    if (st == SKBOX_RECEIVE_AGAIN) return taken;
    if (st == SKBOX_RECEIVE_END || (st == SKBOX_RECEIVE_ERROR && (errno == ECONNRESET || errno == ENOTCONN))) {
      L->exit_status = SKBOX_LOOP_UPSTREAM_GONE;
      return taken;
    }
    if (st == SKBOX_RECEIVE_ERROR) {
      skbox_stat_add(L->stats, SKBOX_STAT_ACCEPT_ERRORS, 1);
      if (errno == ENOBUFS || errno == ENOMEM) pause_intake(L, now);
      return taken;
    }
    taken++;
    if (st == SKBOX_RECEIVE_NO_FD) {
      skbox_stat_add(L->stats, SKBOX_STAT_UPSTREAM_INVALID, 1);
      /* The kernel could not install the descriptor (our table is full): that
       * one is lost upstream's side; take no more until descriptors are freed.
       * A message with more descriptors than we read is truncated too, but
       * then some arrived (and were refused or closed): no shortage. */
      if (got.truncated && !got.rejected && !got.extra_closed) {
        pause_intake(L, now);
        return taken;
      }
      continue;
    }
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (getpeername(got.fd, (struct sockaddr *)&peer, &len) < 0 ||
        (peer.ss_family != AF_INET6 && peer.ss_family != AF_INET)) {
      /* Not a connected TCP socket: nothing to route by. */
      close(got.fd);
      skbox_stat_add(L->stats, SKBOX_STAT_UPSTREAM_INVALID, 1);
      continue;
    }
    skbox_stat_add(L->stats, SKBOX_STAT_UPSTREAM_RECEIVED, 1);
    skbox_stat_add(L->stats, SKBOX_STAT_ACCEPTED, 1);
    dispatch(L, l, got.fd, &peer);
    if (L->exit_status) return taken;
  }
  return taken;
}

static int take_connections(skbox_loop *L, const listener *l, uint64_t now) {
  int taken = L->opt.upstream ? receive_batch(L, l, now) : accept_batch(L, l, now);
  flush_staged(L);
  return taken;
}

/* On stop, connections the kernel completed but nobody accepted yet are
 * taken too (bounded), so a client whose connect succeeded is served. Not for
 * inherited sockets: their backlog belongs to whoever runs next. */
static void accept_backlog(skbox_loop *L, uint64_t now) {
  if (__atomic_load_n(&L->leave_backlogs, __ATOMIC_ACQUIRE)) return;
  for (int i = 0; i < L->n_listeners && !L->exit_status && !L->paused; i++) {
    if (!L->listeners[i].drain_backlog_on_stop) continue;
    for (int round = 0; round < 64 && take_connections(L, &L->listeners[i], now) == ACCEPT_BATCH; round++) {
    }
  }
}

static int wait_timeout(const skbox_loop *L, uint64_t now, int draining, uint64_t drain_deadline) {
  int64_t due = next_waiter_deadline(L);
  if (L->paused && (due < 0 || (int64_t)L->resume_at_ms < due)) due = (int64_t)L->resume_at_ms;
  if (draining && (due < 0 || (int64_t)drain_deadline < due)) due = (int64_t)drain_deadline;
  if (due < 0) return -1;
  return due <= (int64_t)now ? 0 : (int)(due - (int64_t)now);
}

static int run_loop(skbox_loop *L);

static void switch_sched_policy(skbox_loop *L, int batch) {
  if (skbox_thread_sched_batch(batch) != 0) return;
  L->batch_policy = batch;
  skbox_stat_add(L->stats, SKBOX_STAT_SCHED_SWITCHES, 1);
}

/* --sched-policy adaptive. SCHED_BATCH pays off while connections come in bursts: the loop takes
 * a burst in one go and does not preempt the receiver draining the last one. When they come one
 * at a time it only delays each wake-up behind whatever else runs on the CPU. So the thread runs
 * SCHED_OTHER until a wake-up takes BURST_TAKE connections or finds some waiting for a receiver,
 * then SCHED_BATCH until QUIET_WAKEUPS wake-ups in a row have seen neither. A refusal by the
 * kernel leaves the policy as it is, not counted; the switch is tried again later. */
static void adapt_sched_policy(skbox_loop *L, int taken) {
  if (!L->opt.adaptive_sched) return;
  int burst = taken >= BURST_TAKE || L->pending_total > 0;
  if (burst) L->quiet_wakeups = 0;
  if (burst && !L->batch_policy) {
    switch_sched_policy(L, 1);
  } else if (!burst && L->batch_policy && ++L->quiet_wakeups >= QUIET_WAKEUPS) {
    switch_sched_policy(L, 0);
    L->quiet_wakeups = 0;
  }
}

/* One thread at a time: two would share the epoll set and every queue unlocked. */
int skbox_loop_run(skbox_loop *L) {
  int idle = 0;
  if (!__atomic_compare_exchange_n(&L->running, &idle, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return SKBOX_LOOP_BUSY;
  int status = run_loop(L);
  __atomic_store_n(&L->running, 0, __ATOMIC_RELEASE);
  return status;
}

static int run_loop(skbox_loop *L) {
  struct epoll_event events[EVENT_BATCH];
  int draining = 0;
  uint64_t drain_deadline = 0;
  L->exit_status = SKBOX_LOOP_STOPPED;
  L->batch_policy = 0; /* a new thread: adaptive ones start in SCHED_OTHER (loop_thread.c) */
  L->quiet_wakeups = 0;
  set_listening(L, 1);
  for (;;) {
    uint64_t now = now_ms();
    adopt_published_table(L);
    drop_stale_slots(L);
    if (__atomic_exchange_n(&L->abandon_requested, 0, __ATOMIC_ACQ_REL)) {
      set_listening(L, 0);
      return SKBOX_LOOP_ABANDONED;
    }
    if (!draining && __atomic_load_n(&L->stop_requested, __ATOMIC_ACQUIRE)) {
      draining = 1;
      drain_deadline = now + L->opt.drain_timeout_ms;
      accept_backlog(L, now);
      set_listening(L, 0);
      L->paused = 0;
      if (L->exit_status) break;
    }
    if (draining && (L->pending_total == 0 || now >= drain_deadline)) break;
    if (L->paused && now >= L->resume_at_ms) {
      L->paused = 0;
      set_listening(L, 1);
    }
    int n = epoll_wait(L->epfd, events, EVENT_BATCH, wait_timeout(L, now, draining, drain_deadline));
    if (n < 0 && errno != EINTR) {
      L->exit_status = SKBOX_LOOP_ACCEPT_FAILED;
      L->fatal_errno = errno;
      break;
    }
    now = now_ms();
    int taken = 0;
    for (int i = 0; i < n; i++) {
      int tag = *(int *)events[i].data.ptr;
      if (tag == TAG_LISTENER) {
        if (L->listening) taken += take_connections(L, events[i].data.ptr, now);
      } else if (tag == SKBOX_TAG_DEST) {
        flush_dest(L, events[i].data.ptr);
      } else {
        uint64_t v;
        if (read(L->ctl_fd, &v, sizeof v) == sizeof v) skbox_stat_add(L->stats, SKBOX_STAT_PONGS, 1);
      }
      if (L->exit_status) break;
    }
    if (n > 0) adapt_sched_policy(L, taken);
    if (L->exit_status) break;
    expire_waiters(L, now, 0, SKBOX_STAT_REFUSED_TIMEOUT);
  }
  /* Whatever still waits now is refused and counted, never dropped silently. */
  expire_waiters(L, now_ms(), 1, draining ? SKBOX_STAT_REFUSED_DRAINING : SKBOX_STAT_REFUSED_SEND_ERROR);
  set_listening(L, 0);
  return L->exit_status;
}
