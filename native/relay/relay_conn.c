#include "relay_conn.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend_connect.h"
#include "conn_log.h"
#include "proxy_header.h"

/* Edge-triggered: the pumps read and write until EAGAIN, so no epoll_ctl per transfer. */
#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
/* After running out of descriptors, try again this much later (or when one closes). */
#define OUT_OF_FDS_RETRY_MS 100

static int out_of_fds(int err) { return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS; }

static void *tag(struct rly_conn *c, int backend) { return (void *)((uintptr_t)c | (uintptr_t)(backend ? 1 : 0)); }

static void unwatch(struct rly_relay *r, int fd) {
  if (fd >= 0) epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void close_socket(int fd, int reset) {
  if (fd < 0) return;
  if (reset) {
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  close(fd);
}

/* Ends the connection; reset = send RST instead of FIN where the kernel lets us choose.
 * Both are removed from epoll explicitly: another process may still hold the client socket
 * (and a fork may briefly hold any), and their events must not reach freed memory. */
static void conn_close(struct rly_relay *r, struct rly_conn *c, int reset) {
  if (c->state == RLY_CONN_DEAD) return;
  unwatch(r, c->client);
  unwatch(r, c->backend);
  close_socket(c->client, reset);
  close_socket(c->backend, reset);
  c->client = c->backend = -1;
  rly_pump_release(&c->up, &r->pipes);
  rly_pump_release(&c->down, &r->pipes);
  if (rly_link_linked(&c->state_link)) rly_list_remove(&c->state_link);
  if (rly_link_linked(&c->ready_link)) rly_list_remove(&c->ready_link);
  rly_list_remove(&c->all);
  rly_list_push_back(&r->dead, &c->all);
  c->state = RLY_CONN_DEAD;
  r->active--;
}

static void conn_fail(struct rly_relay *r, struct rly_conn *c, const char *what, int err) {
  rly_log_problem(r->cfg.errors, &c->remote, &c->local, what, err);
  conn_close(r, c, 0);
}

/* With an idle timeout, open connections wait on r->idle in the order they last moved a
 * byte, so all deadlines are the same distance from their stamps: moving a connection to
 * the end keeps the list sorted, and its head alone says when the next one is due. */
static void restart_idle_clock(struct rly_relay *r, struct rly_conn *c) {
  if (r->cfg.idle_timeout_ms <= 0) return;
  c->deadline_ms = r->now_ms + r->cfg.idle_timeout_ms;
  rly_list_remove(&c->state_link);
  rly_list_push_back(&r->idle, &c->state_link);
}

static void close_idle(struct rly_relay *r, struct rly_conn *c) {
  char what[96];
  r->idle_closed++;
  snprintf(what, sizeof(what), "no byte either way for %d ms: closed (idle closes: %lu)", r->cfg.idle_timeout_ms,
           r->idle_closed);
  conn_fail(r, c, what, 0);
}

/* Both directions on any event: epoll reports a socket's whole readiness (a writable socket
 * says EPOLLOUT every time), so an event rarely tells which direction moved. */
static void run_pumps(struct rly_relay *r, struct rly_conn *c) {
  unsigned long long moved_before = c->up.moved + c->down.moved;
  enum rly_pump_status up = rly_pump_run(&c->up, c->client, c->backend);
  enum rly_pump_status down = rly_pump_run(&c->down, c->backend, c->client);
  if (up == RLY_PUMP_READ_FAILED || down == RLY_PUMP_READ_FAILED) {
    conn_close(r, c, 1); /* a reset on one side becomes a reset on the other */
    return;
  }
  int up_over = up == RLY_PUMP_DONE || up == RLY_PUMP_WRITE_FAILED;
  int down_over = down == RLY_PUMP_DONE || down == RLY_PUMP_WRITE_FAILED;
  if (up_over && down_over) {
    conn_close(r, c, 0);
    return;
  }
  if (c->up.moved + c->down.moved != moved_before) restart_idle_clock(r, c);
  if ((up == RLY_PUMP_YIELDED || down == RLY_PUMP_YIELDED) && !rly_link_linked(&c->ready_link))
    rly_list_push_back(&r->ready, &c->ready_link);
}

static void become_open(struct rly_relay *r, struct rly_conn *c) {
  if (rly_link_linked(&c->state_link)) rly_list_remove(&c->state_link);
  c->state = RLY_CONN_OPEN;
  restart_idle_clock(r, c);
  run_pumps(r, c); /* the client may have sent while we connected: edges are not repeated */
}

/* A backend that expects a PROXY header would take the relay's address for the client's:
 * without its header in full, the connection goes nowhere. */
static void refuse_without_header(struct rly_relay *r, struct rly_conn *c) {
  char what[96];
  r->header_refused++;
  snprintf(what, sizeof(what), "refused: the PROXY header cannot be built in full (refused so far: %lu)",
           r->header_refused);
  conn_fail(r, c, what, 0);
}

/* PROXY header, pipes, backend socket, epoll registration. Returns -1 only when
 * descriptors ran out (the connection keeps its client and waits); other failures close it. */
static int conn_setup(struct rly_relay *r, struct rly_conn *c) {
  unsigned char header[RLY_PROXY_HEADER_MAX];
  int header_len = rly_proxy_header(r->cfg.proxy, &c->remote, &c->local, header);
  if (header_len < 0) {
    refuse_without_header(r, c);
    return 0;
  }

  struct rly_pipe up_pipe = {-1, -1}, down_pipe = {-1, -1};
  if (rly_pipe_get(&r->pipes, &up_pipe) != 0 || rly_pipe_get(&r->pipes, &down_pipe) != 0) {
    int err = errno;
    rly_pipe_put(&r->pipes, &up_pipe, 1);
    if (out_of_fds(err)) return -1;
    conn_fail(r, c, "cannot make a pipe", err);
    return 0;
  }
  rly_pump_init(&c->up, up_pipe, r->pipes.capacity);
  rly_pump_init(&c->down, down_pipe, r->pipes.capacity);

  if (rly_pump_preload(&c->up, header, (size_t)header_len) != 0) {
    conn_fail(r, c, "cannot queue the PROXY header", errno);
    return 0;
  }

  enum rly_backend_result br = rly_backend_connect(&r->cfg, &c->local, &c->backend);
  if (br == RLY_BACKEND_OUTSIDE_PREFIX) {
    conn_fail(r, c, "refused: local address outside the NAT64 prefix", 0);
    return 0;
  }
  if (br == RLY_BACKEND_FAILED) {
    int err = errno;
    if (out_of_fds(err)) {
      rly_pump_release(&c->up, &r->pipes);
      rly_pump_release(&c->down, &r->pipes);
      return -1;
    }
    conn_fail(r, c, "cannot connect to the backend", err);
    return 0;
  }
  int on = 1;
  setsockopt(c->client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)); /* fails harmlessly on UNIX sockets */

  struct epoll_event ev = {.events = CONN_EVENTS};
  ev.data.ptr = tag(c, 0);
  int rc = epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->client, &ev);
  ev.data.ptr = tag(c, 1);
  if (rc == 0) rc = epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->backend, &ev);
  if (rc != 0) {
    int err = errno;
    if (out_of_fds(err)) {
      /* Leave no half registration behind before retrying from scratch. */
      unwatch(r, c->client);
      close(c->backend);
      c->backend = -1;
      rly_pump_release(&c->up, &r->pipes);
      rly_pump_release(&c->down, &r->pipes);
      return -1;
    }
    conn_fail(r, c, "cannot watch the connection", err);
    return 0;
  }
  if (br == RLY_BACKEND_CONNECTED) {
    become_open(r, c);
  } else {
    c->state = RLY_CONN_CONNECTING;
    c->deadline_ms = rly_now_ms() + r->cfg.connect_timeout_ms;
    rly_list_push_back(&r->connecting, &c->state_link);
  }
  return 0;
}

static void wait_for_fds(struct rly_relay *r, struct rly_conn *c) {
  c->state = RLY_CONN_WAITING_FDS;
  if (!rly_link_linked(&c->state_link)) rly_list_push_back(&r->waiting, &c->state_link);
  r->retry_at_ms = rly_now_ms() + OUT_OF_FDS_RETRY_MS;
}

void rly_conn_start(struct rly_relay *r, int client_fd) {
  struct rly_conn *c = calloc(1, sizeof(*c));
  if (!c) {
    close(client_fd);
    rly_log_message(r->cfg.errors, "out of memory: connection dropped", ENOMEM);
    return;
  }
  c->client = client_fd;
  c->backend = -1;
  c->up.pipe = c->down.pipe = (struct rly_pipe){-1, -1};
  rly_list_init(&c->state_link);
  rly_list_init(&c->ready_link);
  rly_list_push_back(&r->all, &c->all);
  r->active++;
  rly_endpoint_of(client_fd, 1, &c->remote);
  rly_endpoint_of(client_fd, 0, &c->local);
  rly_log_connection(r->cfg.log, &c->remote, &c->local);
  if (conn_setup(r, c) != 0) wait_for_fds(r, c);
}

void rly_conn_event(struct rly_relay *r, struct rly_conn *c, int backend, uint32_t events) {
  switch (c->state) {
    case RLY_CONN_CONNECTING: {
      if (!backend) return; /* the client's bytes wait in its socket until we are connected */
      if ((events & EPOLLOUT) && !(events & (EPOLLERR | EPOLLHUP))) {
        become_open(r, c); /* writable without error: connected */
        return;
      }
      if (events & (EPOLLERR | EPOLLHUP)) {
        int err = rly_backend_connect_error(c->backend);
        conn_fail(r, c, "cannot connect to the backend", err ? err : ECONNREFUSED);
      }
      return;
    }
    case RLY_CONN_OPEN:
      run_pumps(r, c); /* bytes that came before an error still go through */
      if ((events & EPOLLERR) && c->state == RLY_CONN_OPEN)
        conn_close(r, c, 1); /* a reset or other socket error: pass it on */
      return;
    default:
      return;
  }
}

void rly_conn_run_ready(struct rly_relay *r) {
  /* Only those queued before this pass: a pump that yields again waits for the next one. */
  struct rly_link batch;
  rly_list_init(&batch);
  if (rly_list_empty(&r->ready)) return;
  batch.next = r->ready.next;
  batch.prev = r->ready.prev;
  batch.next->prev = &batch;
  batch.prev->next = &batch;
  rly_list_init(&r->ready);
  while (!rly_list_empty(&batch)) {
    struct rly_conn *c = RLY_CONTAINER_OF(batch.next, struct rly_conn, ready_link);
    rly_list_remove(&c->ready_link);
    if (c->state == RLY_CONN_OPEN) run_pumps(r, c);
  }
}

static int64_t first_deadline(const struct rly_link *list) {
  return rly_list_empty(list) ? -1 : RLY_CONTAINER_OF(list->next, struct rly_conn, state_link)->deadline_ms;
}

void rly_conn_expire(struct rly_relay *r, int64_t now) {
  while (!rly_list_empty(&r->connecting)) {
    struct rly_conn *c = RLY_CONTAINER_OF(r->connecting.next, struct rly_conn, state_link);
    if (c->deadline_ms > now) break;
    conn_fail(r, c, "cannot connect to the backend", ETIMEDOUT);
  }
  while (!rly_list_empty(&r->idle)) {
    struct rly_conn *c = RLY_CONTAINER_OF(r->idle.next, struct rly_conn, state_link);
    if (c->deadline_ms > now) break;
    close_idle(r, c);
  }
}

int64_t rly_conn_next_deadline(const struct rly_relay *r) {
  int64_t connect = first_deadline(&r->connecting), idle = first_deadline(&r->idle);
  if (connect < 0) return idle;
  return idle >= 0 && idle < connect ? idle : connect;
}

int rly_conn_retry_waiting(struct rly_relay *r) {
  while (!rly_list_empty(&r->waiting)) {
    struct rly_conn *c = RLY_CONTAINER_OF(r->waiting.next, struct rly_conn, state_link);
    rly_list_remove(&c->state_link);
    if (conn_setup(r, c) != 0) {
      wait_for_fds(r, c);
      /* Put it back in front: connections are served in the order they came. */
      rly_list_remove(&c->state_link);
      c->state_link.next = r->waiting.next;
      c->state_link.prev = &r->waiting;
      r->waiting.next->prev = &c->state_link;
      r->waiting.next = &c->state_link;
      return -1;
    }
  }
  return 0;
}

void rly_conn_reap(struct rly_relay *r) {
  while (!rly_list_empty(&r->dead)) {
    struct rly_conn *c = RLY_CONTAINER_OF(r->dead.next, struct rly_conn, all);
    rly_list_remove(&c->all);
    free(c);
  }
}

void rly_conn_close_all(struct rly_relay *r) {
  while (!rly_list_empty(&r->all)) {
    struct rly_conn *c = RLY_CONTAINER_OF(r->all.next, struct rly_conn, all);
    conn_close(r, c, 0);
  }
  rly_conn_reap(r);
}
