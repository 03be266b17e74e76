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

static int out_of_fds(int err) {
  return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS;
}

static void *tag(struct skbox_relay_conn *c, int backend) {
  return (void *)((uintptr_t)c | (uintptr_t)(backend ? 1 : 0));
}

static void unwatch(struct skbox_relay *r, int fd) {
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
static void conn_close(struct skbox_relay *r, struct skbox_relay_conn *c, int reset) {
  if (c->state == SKBOX_RELAY_CONN_DEAD) return;
  unwatch(r, c->client);
  unwatch(r, c->backend);
  close_socket(c->client, reset);
  close_socket(c->backend, reset);
  c->client = c->backend = -1;
  skbox_relay_pump_release(&c->up, &r->pipes);
  skbox_relay_pump_release(&c->down, &r->pipes);
  if (skbox_relay_link_linked(&c->state_link)) skbox_relay_list_remove(&c->state_link);
  if (skbox_relay_link_linked(&c->ready_link)) skbox_relay_list_remove(&c->ready_link);
  skbox_relay_list_remove(&c->all);
  skbox_relay_list_push_back(&r->dead, &c->all);
  c->state = SKBOX_RELAY_CONN_DEAD;
  r->active--;
}

static void conn_fail(struct skbox_relay *r, struct skbox_relay_conn *c, const char *what, int err) {
  skbox_relay_log_problem(r->cfg.errors, &c->remote, &c->local, what, err);
  conn_close(r, c, 0);
}

/* With an idle timeout, open connections wait on r->idle in the order they last moved a
 * byte, so all deadlines are the same distance from their stamps: moving a connection to
 * the end keeps the list sorted, and its head alone says when the next one is due. */
static void restart_idle_clock(struct skbox_relay *r, struct skbox_relay_conn *c) {
  if (r->cfg.idle_timeout_ms <= 0) return;
  c->deadline_ms = r->now_ms + r->cfg.idle_timeout_ms;
  skbox_relay_list_remove(&c->state_link);
  skbox_relay_list_push_back(&r->idle, &c->state_link);
}

static void close_idle(struct skbox_relay *r, struct skbox_relay_conn *c) {
  char what[96];
  r->idle_closed++;
  snprintf(what, sizeof(what), "no byte either way for %d ms: closed (idle closes: %lu)", r->cfg.idle_timeout_ms,
           r->idle_closed);
  conn_fail(r, c, what, 0);
}

/* Both directions on any event: epoll reports a socket's whole readiness (a writable socket
 * says EPOLLOUT every time), so an event rarely tells which direction moved. */
static void run_pumps(struct skbox_relay *r, struct skbox_relay_conn *c) {
  unsigned long long moved_before = c->up.moved + c->down.moved;
  enum skbox_relay_pump_status up = skbox_relay_pump_run(&c->up, c->client, c->backend);
  enum skbox_relay_pump_status down = skbox_relay_pump_run(&c->down, c->backend, c->client);
  if (up == SKBOX_RELAY_PUMP_READ_FAILED || down == SKBOX_RELAY_PUMP_READ_FAILED) {
    conn_close(r, c, 1); /* a reset on one side becomes a reset on the other */
    return;
  }
  int up_over = up == SKBOX_RELAY_PUMP_DONE || up == SKBOX_RELAY_PUMP_WRITE_FAILED;
  int down_over = down == SKBOX_RELAY_PUMP_DONE || down == SKBOX_RELAY_PUMP_WRITE_FAILED;
  if (up_over && down_over) {
    conn_close(r, c, 0);
    return;
  }
  if (c->up.moved + c->down.moved != moved_before) restart_idle_clock(r, c);
  if ((up == SKBOX_RELAY_PUMP_YIELDED || down == SKBOX_RELAY_PUMP_YIELDED) && !skbox_relay_link_linked(&c->ready_link))
    skbox_relay_list_push_back(&r->ready, &c->ready_link);
}

static void become_open(struct skbox_relay *r, struct skbox_relay_conn *c) {
  if (skbox_relay_link_linked(&c->state_link)) skbox_relay_list_remove(&c->state_link);
  c->state = SKBOX_RELAY_CONN_OPEN;
  restart_idle_clock(r, c);
  run_pumps(r, c); /* the client may have sent while we connected: edges are not repeated */
}

/* A backend that expects a PROXY header would take the relay's address for the client's:
 * without its header in full, the connection goes nowhere. */
static void refuse_without_header(struct skbox_relay *r, struct skbox_relay_conn *c) {
  char what[96];
  r->header_refused++;
  snprintf(what, sizeof(what), "refused: the PROXY header cannot be built in full (refused so far: %lu)",
           r->header_refused);
  conn_fail(r, c, what, 0);
}

/* PROXY header, pipes, backend socket, epoll registration. Returns -1 only when
 * descriptors ran out (the connection keeps its client and waits); other failures close it. */
static int conn_setup(struct skbox_relay *r, struct skbox_relay_conn *c) {
  unsigned char header[SKBOX_RELAY_PROXY_HEADER_MAX];
  int header_len = skbox_relay_proxy_header(r->cfg.proxy, &c->remote, &c->local, header);
  if (header_len < 0) {
    refuse_without_header(r, c);
    return 0;
  }

  struct skbox_relay_pipe up_pipe = {-1, -1}, down_pipe = {-1, -1};
  if (skbox_relay_pipe_get(&r->pipes, &up_pipe) != 0 || skbox_relay_pipe_get(&r->pipes, &down_pipe) != 0) {
    int err = errno;
    skbox_relay_pipe_put(&r->pipes, &up_pipe, 1);
    if (out_of_fds(err)) return -1;
    conn_fail(r, c, "cannot make a pipe", err);
    return 0;
  }
  skbox_relay_pump_init(&c->up, up_pipe, r->pipes.capacity);
  skbox_relay_pump_init(&c->down, down_pipe, r->pipes.capacity);

  if (skbox_relay_pump_preload(&c->up, header, (size_t)header_len) != 0) {
    conn_fail(r, c, "cannot queue the PROXY header", errno);
    return 0;
  }

  enum skbox_relay_backend_result br = skbox_relay_backend_connect(&r->cfg, &c->local, &c->backend);
  if (br == SKBOX_RELAY_BACKEND_OUTSIDE_PREFIX) {
    conn_fail(r, c, "refused: local address outside the NAT64 prefix", 0);
    return 0;
  }
  if (br == SKBOX_RELAY_BACKEND_FAILED) {
    int err = errno;
    if (out_of_fds(err)) {
      skbox_relay_pump_release(&c->up, &r->pipes);
      skbox_relay_pump_release(&c->down, &r->pipes);
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
      skbox_relay_pump_release(&c->up, &r->pipes);
      skbox_relay_pump_release(&c->down, &r->pipes);
      return -1;
    }
    conn_fail(r, c, "cannot watch the connection", err);
    return 0;
  }
  if (br == SKBOX_RELAY_BACKEND_CONNECTED) {
    become_open(r, c);
  } else {
    c->state = SKBOX_RELAY_CONN_CONNECTING;
    c->deadline_ms = skbox_relay_now_ms() + r->cfg.connect_timeout_ms;
    skbox_relay_list_push_back(&r->connecting, &c->state_link);
  }
  return 0;
}

static void wait_for_fds(struct skbox_relay *r, struct skbox_relay_conn *c) {
  c->state = SKBOX_RELAY_CONN_WAITING_FDS;
  if (!skbox_relay_link_linked(&c->state_link)) skbox_relay_list_push_back(&r->waiting, &c->state_link);
  r->retry_at_ms = skbox_relay_now_ms() + OUT_OF_FDS_RETRY_MS;
}

void skbox_relay_conn_start(struct skbox_relay *r, int client_fd) {
  struct skbox_relay_conn *c = calloc(1, sizeof(*c));
  if (!c) {
    close(client_fd);
    skbox_relay_log_message(r->cfg.errors, "out of memory: connection dropped", ENOMEM);
    return;
  }
  c->client = client_fd;
  c->backend = -1;
  c->up.pipe = c->down.pipe = (struct skbox_relay_pipe){-1, -1};
  skbox_relay_list_init(&c->state_link);
  skbox_relay_list_init(&c->ready_link);
  skbox_relay_list_push_back(&r->all, &c->all);
  r->active++;
  skbox_relay_endpoint_of(client_fd, 1, &c->remote);
  skbox_relay_endpoint_of(client_fd, 0, &c->local);
  skbox_relay_log_connection(r->cfg.log, &c->remote, &c->local);
  if (conn_setup(r, c) != 0) wait_for_fds(r, c);
}

void skbox_relay_conn_event(struct skbox_relay *r, struct skbox_relay_conn *c, int backend, uint32_t events) {
  switch (c->state) {
    case SKBOX_RELAY_CONN_CONNECTING: {
      if (!backend) return; /* the client's bytes wait in its socket until we are connected */
      if ((events & EPOLLOUT) && !(events & (EPOLLERR | EPOLLHUP))) {
        become_open(r, c); /* writable without error: connected */
        return;
      }
      if (events & (EPOLLERR | EPOLLHUP)) {
        int err = skbox_relay_backend_connect_error(c->backend);
        conn_fail(r, c, "cannot connect to the backend", err ? err : ECONNREFUSED);
      }
      return;
    }
    case SKBOX_RELAY_CONN_OPEN:
      run_pumps(r, c); /* bytes that came before an error still go through */
      if ((events & EPOLLERR) && c->state == SKBOX_RELAY_CONN_OPEN)
        conn_close(r, c, 1); /* a reset or other socket error: pass it on */
      return;
    default: return;
  }
}

void skbox_relay_conn_run_ready(struct skbox_relay *r) {
  /* Only those queued before this pass: a pump that yields again waits for the next one. */
  struct skbox_relay_link batch;
  skbox_relay_list_init(&batch);
  if (skbox_relay_list_empty(&r->ready)) return;
  batch.next = r->ready.next;
  batch.prev = r->ready.prev;
  batch.next->prev = &batch;
  batch.prev->next = &batch;
  skbox_relay_list_init(&r->ready);
  while (!skbox_relay_list_empty(&batch)) {
    struct skbox_relay_conn *c = SKBOX_RELAY_CONTAINER_OF(batch.next, struct skbox_relay_conn, ready_link);
    skbox_relay_list_remove(&c->ready_link);
    if (c->state == SKBOX_RELAY_CONN_OPEN) run_pumps(r, c);
  }
}

static int64_t first_deadline(const struct skbox_relay_link *list) {
  return skbox_relay_list_empty(list)
             ? -1
             : SKBOX_RELAY_CONTAINER_OF(list->next, struct skbox_relay_conn, state_link)->deadline_ms;
}

void skbox_relay_conn_expire(struct skbox_relay *r, int64_t now) {
  while (!skbox_relay_list_empty(&r->connecting)) {
    struct skbox_relay_conn *c = SKBOX_RELAY_CONTAINER_OF(r->connecting.next, struct skbox_relay_conn, state_link);
    if (c->deadline_ms > now) break;
    conn_fail(r, c, "cannot connect to the backend", ETIMEDOUT);
  }
  while (!skbox_relay_list_empty(&r->idle)) {
    struct skbox_relay_conn *c = SKBOX_RELAY_CONTAINER_OF(r->idle.next, struct skbox_relay_conn, state_link);
    if (c->deadline_ms > now) break;
    close_idle(r, c);
  }
}

int64_t skbox_relay_conn_next_deadline(const struct skbox_relay *r) {
  int64_t connect = first_deadline(&r->connecting), idle = first_deadline(&r->idle);
  if (connect < 0) return idle;
  return idle >= 0 && idle < connect ? idle : connect;
}

int skbox_relay_conn_retry_waiting(struct skbox_relay *r) {
  while (!skbox_relay_list_empty(&r->waiting)) {
    struct skbox_relay_conn *c = SKBOX_RELAY_CONTAINER_OF(r->waiting.next, struct skbox_relay_conn, state_link);
    skbox_relay_list_remove(&c->state_link);
    if (conn_setup(r, c) != 0) {
      wait_for_fds(r, c);
      /* Put it back in front: connections are served in the order they came. */
      skbox_relay_list_remove(&c->state_link);
      c->state_link.next = r->waiting.next;
      c->state_link.prev = &r->waiting;
      r->waiting.next->prev = &c->state_link;
      r->waiting.next = &c->state_link;
      return -1;
    }
  }
  return 0;
}

void skbox_relay_conn_reap(struct skbox_relay *r) {
  while (!skbox_relay_list_empty(&r->dead)) {
    struct skbox_relay_conn *c = SKBOX_RELAY_CONTAINER_OF(r->dead.next, struct skbox_relay_conn, all);
    skbox_relay_list_remove(&c->all);
    free(c);
  }
}

void skbox_relay_conn_close_all(struct skbox_relay *r) {
  while (!skbox_relay_list_empty(&r->all)) {
    struct skbox_relay_conn *c = SKBOX_RELAY_CONTAINER_OF(r->all.next, struct skbox_relay_conn, all);
    conn_close(r, c, 0);
  }
  skbox_relay_conn_reap(r);
}
