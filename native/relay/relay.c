#include "relay.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "conn_log.h"
#include "relay_conn.h"
#include "relay_state.h"

#define EVENTS_PER_WAIT 256
#define INTAKE_PER_WAKEUP 64   /* connections taken per wakeup before serving the others */
#define DESCRIPTORS_PER_CONN 6 /* client, backend, two pipes */
#define SPARE_DESCRIPTORS 32   /* for the runtime's own needs after start */

int64_t skbox_relay_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned open_descriptors(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 64;
  unsigned n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

/* Intake pauses before descriptors run out: a descriptor received over SCM_RIGHTS when the
 * table is full would be lost by the kernel, not kept for later. */
static unsigned connection_budget(unsigned requested) {
  struct rlimit rl;
  unsigned long limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 1048576;
  unsigned long used = open_descriptors() + SPARE_DESCRIPTORS + 2 * SKBOX_RELAY_PIPE_POOL_MAX;
  unsigned long budget = limit > used ? (limit - used) / DESCRIPTORS_PER_CONN : 0;
  if (budget < 1) budget = 1;
  if (budget > 0x7fffffff) budget = 0x7fffffff;
  return requested && requested < budget ? requested : (unsigned)budget;
}

struct skbox_relay *skbox_relay_create(const struct skbox_relay_config *cfg, const char **why) {
  struct skbox_relay *r = calloc(1, sizeof(*r));
  if (!r) {
    *why = "malloc";
    close(cfg->source_fd);
    return NULL;
  }
  r->cfg = *cfg;
  r->epfd = epoll_create1(EPOLL_CLOEXEC);
  r->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (r->epfd < 0 || r->stop_fd < 0) {
    int err = errno;
    *why = r->epfd < 0 ? "epoll_create1" : "eventfd";
    if (r->epfd >= 0) close(r->epfd);
    if (r->stop_fd >= 0) close(r->stop_fd);
    close(cfg->source_fd);
    free(r);
    errno = err;
    return NULL;
  }
  skbox_relay_pipe_pool_init(&r->pipes);
  skbox_relay_list_init(&r->all);
  skbox_relay_list_init(&r->connecting);
  skbox_relay_list_init(&r->waiting);
  skbox_relay_list_init(&r->idle);
  skbox_relay_list_init(&r->ready);
  skbox_relay_list_init(&r->dead);
  return r;
}

void skbox_relay_stop(struct skbox_relay *r) {
  uint64_t one = 1;
  ssize_t rc;
  do rc = write(r->stop_fd, &one, sizeof(one));
  while (rc < 0 && errno == EINTR);
}

void skbox_relay_destroy(struct skbox_relay *r) {
  if (!r) return;
  close(r->cfg.source_fd);
  if (r->cfg.unlink_path[0] && r->cfg.unlink_path[0] != '@') unlink(r->cfg.unlink_path);
  close(r->stop_fd);
  close(r->epfd);
  free(r);
}

/* A paused source leaves the epoll set: with an empty event mask epoll would still report
 * HUP and ERR (a sender that hung up), waking the loop again and again for nothing. */
static int watch_intake(struct skbox_relay *r, int on) {
  if (r->intake_watched == on) return 0;
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.ptr = &r->tag_intake;
  if (epoll_ctl(r->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, r->cfg.source_fd, &ev) != 0) return -1;
  r->intake_watched = on;
  return 0;
}

static int intake_allowed(const struct skbox_relay *r) {
  return r->active < r->max_active && r->retry_at_ms == 0 && skbox_relay_list_empty(&r->waiting);
}

/* Says why a received message gave no connection (the counters moved). */
static void report_skipped(struct skbox_relay *r) {
  static const char *const why[] = {
      "a received descriptor is not an acceptable connection (SKBOX_STRICT_STREAM_MODE): closed",
      "extra descriptors in a message: closed",
      "a message's descriptors did not all fit: the kernel dropped them",
  };
  unsigned long now[3] = {r->intake_counts.rejected, r->intake_counts.extra_closed, r->intake_counts.truncated};
  for (int i = 0; i < 3; i++) {
    if (now[i] != r->reported_counts[i]) skbox_relay_log_message(r->cfg.errors, why[i], 0);
    r->reported_counts[i] = now[i];
  }
}

/* Takes connections while there is room; 1 when the loop must end. */
static int take_connections(struct skbox_relay *r, struct skbox_relay_exit *exit) {
  for (int i = 0; i < INTAKE_PER_WAKEUP && intake_allowed(r); i++) {
    int fd;
    switch (skbox_relay_intake(r->cfg.source_fd, r->cfg.source_kind, r->cfg.validation_level, &fd, &r->intake_counts)) {
      case SKBOX_RELAY_INTAKE_FD:
        report_skipped(r); /* extras closed from the same message */
        skbox_relay_conn_start(r, fd);
        break;
      case SKBOX_RELAY_INTAKE_AGAIN: return 0;
      case SKBOX_RELAY_INTAKE_SKIPPED: report_skipped(r); break;
      case SKBOX_RELAY_INTAKE_NO_FDS: r->retry_at_ms = skbox_relay_now_ms() + 100; return 0;
      case SKBOX_RELAY_INTAKE_END:
        skbox_relay_log_message(r->cfg.errors, "the sender closed the receiving socket; stopping", 0);
        return 1;
      case SKBOX_RELAY_INTAKE_ERROR:
        exit->status = 1;
        exit->err = errno;
        exit->what = r->cfg.source_kind == SKBOX_RELAY_SOURCE_LISTEN ? "accept" : "recvmsg";
        return 1;
    }
  }
  return 0;
}

/* After connections closed or time passed: serve those waiting for descriptors first,
 * then let intake resume if there is room. */
static void resume_when_possible(struct skbox_relay *r, int64_t now, int closed_some) {
  if (r->retry_at_ms && (closed_some || now >= r->retry_at_ms)) {
    r->retry_at_ms = 0;
    if (skbox_relay_conn_retry_waiting(r) != 0 && r->retry_at_ms == 0) r->retry_at_ms = now + 100;
  }
}

static int wait_timeout(const struct skbox_relay *r, int64_t now) {
  if (!skbox_relay_list_empty(&r->ready)) return 0;
  int64_t next = skbox_relay_conn_next_deadline(r);
  if (r->retry_at_ms && (next < 0 || r->retry_at_ms < next)) next = r->retry_at_ms;
  if (next < 0) return -1;
  return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

struct skbox_relay_exit skbox_relay_run(struct skbox_relay *r) {
  struct skbox_relay_exit exit = {0, 0, NULL};
  struct epoll_event events[EVENTS_PER_WAIT];
  r->max_active = connection_budget(r->cfg.max_connections);

  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.ptr = &r->tag_stop;
  if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->stop_fd, &ev) != 0) return (struct skbox_relay_exit){1, errno, "epoll_ctl"};
  if (watch_intake(r, 1) != 0) return (struct skbox_relay_exit){1, errno, "epoll_ctl"};

  while (!r->stopping) {
    int n = epoll_wait(r->epfd, events, EVENTS_PER_WAIT, wait_timeout(r, skbox_relay_now_ms()));
    if (n < 0) {
      if (errno == EINTR) continue;
      exit = (struct skbox_relay_exit){1, errno, "epoll_wait"};
      break;
    }
    r->now_ms = skbox_relay_now_ms();
    unsigned active_before = r->active;
    int intake_ready = 0;
    for (int i = 0; i < n; i++) {
      void *p = events[i].data.ptr;
      if (p == &r->tag_stop) {
        r->stopping = 1;
      } else if (p == &r->tag_intake) {
        intake_ready = 1;
      } else {
        uintptr_t bits = (uintptr_t)p;
        skbox_relay_conn_event(r, (struct skbox_relay_conn *)(bits & ~(uintptr_t)1), (int)(bits & 1), events[i].events);
      }
    }
    if (r->stopping) break;
    skbox_relay_conn_run_ready(r);
    int64_t now = skbox_relay_now_ms();
    skbox_relay_conn_expire(r, now);
    resume_when_possible(r, now, r->active < active_before);
    if (intake_ready && take_connections(r, &exit)) break;
    skbox_relay_conn_reap(r);
    if (watch_intake(r, intake_allowed(r)) != 0) {
      exit = (struct skbox_relay_exit){1, errno, "epoll_ctl"};
      break;
    }
  }
  skbox_relay_conn_close_all(r);
  skbox_relay_pipe_pool_drain(&r->pipes);
  return exit;
}
