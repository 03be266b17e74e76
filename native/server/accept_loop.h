/* The per-worker accept loop: epoll over the listeners, a control eventfd and
 * the destinations that wait for room; accept → lookup → send → close with no
 * JavaScript and no allocation on the common path. */
#ifndef SKBOX_ACCEPT_LOOP_H
#define SKBOX_ACCEPT_LOOP_H

#include <stdint.h>

#include "common/log_sink.h"
#include "server/source_rate.h"
#include "server/table.h"

typedef struct {
  int clear_transparent;           /* -z */
  uint32_t max_pending;            /* connections waiting for full receivers, per loop */
  uint32_t max_pending_per_target; /* of those, how many one destination may hold: a
                                      receiver that stops reading cannot take the budget
                                      of the others */
  uint32_t dispatch_timeout_ms;    /* how long one may wait */
  uint32_t drain_timeout_ms;       /* how long a stop may take to deliver what waits */
  uint32_t max_cached_targets;     /* distinct destinations kept connected */
  int access_log;                  /* SKBOX_ACCESS_LOG_OFF / _TEXT / _JSON */
  skbox_log_sink *log_sink;        /* where access log lines go (stderr's, shared by the loops) */
  int upstream;                    /* -P: the "listeners" are registrations at another server;
                                   connections arrive as descriptors, not by accept */
  skbox_source_rate *source_rate;  /* --source-rate: shared by every loop, owned by the caller
                                      (it must outlive them); NULL: no limit */
  int adaptive_sched;              /* --sched-policy adaptive: the loop's thread switches
                                      between SCHED_OTHER and SCHED_BATCH (accept_loop.c) */
} skbox_loop_options;

/* Exit statuses of skbox_loop_run, as the process should exit with them. */
#define SKBOX_LOOP_STOPPED 0
#define SKBOX_LOOP_ACCEPT_FAILED 10
#define SKBOX_LOOP_PEER_GONE 11
#define SKBOX_LOOP_UPSTREAM_GONE 12 /* -P: the registration server closed our registration */
/* The loop left on request as if its thread had died; run it again to resume
 * (its waiting connections and cached targets are kept). Test support. */
#define SKBOX_LOOP_ABANDONED 99

typedef struct skbox_loop skbox_loop;

/* A socket the loop takes connections from. */
typedef struct {
  int fd;
  int drain_backlog_on_stop; /* a stop first takes what the kernel already queued: for the sockets
                                socketbox bound itself (and -P registrations). An inherited
                                socket's backlog belongs to whoever takes it over next. */
} skbox_loop_listener;

/* The listeners' fds stay owned by the caller and must outlive the loop; a
 * connection's listener index (JSON `incoming_socket`) is its listener's
 * position in listeners. stats points at SKBOX_STAT_COUNT counters and
 * target_stats at SKBOX_TARGET_STAT_COUNT * SKBOX_TARGET_SLOTS, both of which
 * must also outlive it. */
skbox_loop *skbox_loop_create(const skbox_loop_listener *listeners, int n_listen, const skbox_loop_options *opt,
                              uint64_t *stats, uint64_t *target_stats, const char **why);

/* Any thread: wake the loop; it counts SKBOX_STAT_PONGS when it gets to it,
 * which tells a watchdog that the loop still runs. */
void skbox_loop_ping(skbox_loop *loop);

/* Any thread: hand the loop a new table (ownership passes to the loop). Every
 * connection is decided by exactly one table: the loop switches between two
 * connections, never during one. */
void skbox_loop_publish(skbox_loop *loop, skbox_table *table);

/* Any thread: stop accepting, deliver what waits (bounded by drain_timeout_ms),
 * then make skbox_loop_run return. */
void skbox_loop_request_stop(skbox_loop *loop);

/* Any thread: a stop for a live upgrade. Like skbox_loop_request_stop, but no
 * listener's kernel backlog is taken: the process that took the listeners over
 * accepts it. What the loop accepted already is still delivered. */
void skbox_loop_request_handover(skbox_loop *loop);

/* Before the loop first runs: confine UNIX targets beneath root_fd (see dest.h). */
void skbox_loop_set_target_root(skbox_loop *loop, int root_fd, const char *prefix, int allow_abstract);

/* Any thread: make skbox_loop_run return SKBOX_LOOP_ABANDONED at once. */
void skbox_loop_request_abandon(skbox_loop *loop);

/* skbox_loop_run when another thread already runs the loop: it returns at once. */
#define SKBOX_LOOP_BUSY 98

/* The loop's own thread: runs until stopped or a fatal condition. May be
 * called again after SKBOX_LOOP_ABANDONED, from any thread. */
int skbox_loop_run(skbox_loop *loop);

/* errno of the accept failure that ended the loop (SKBOX_LOOP_ACCEPT_FAILED). */
int skbox_loop_fatal_errno(const skbox_loop *loop);

/* After skbox_loop_run has returned (or was never called). Connections still
 * waiting (a loop that was abandoned and not run again) are reset and counted
 * as draining. */
void skbox_loop_destroy(skbox_loop *loop);

#endif
