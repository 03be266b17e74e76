/* One relayed connection: the client socket, the backend socket, a pump each way.
 *
 * Life: taken in -> (waiting for descriptors) -> connecting -> open -> closed.
 * A connection ends when both directions are finished (clean half-closes both ways), or
 * at once when one side resets (the other side is reset too), when the backend cannot be
 * reached in time, when no byte moved either way for the idle timeout, when its PROXY
 * header cannot be built in full (refused before the backend is dialled), or when the
 * relay stops. A direction whose destination refuses bytes ends alone; the other one may
 * still deliver (a server's reply after it stopped reading). */
#ifndef SKBOX_RELAY_CONN_H
#define SKBOX_RELAY_CONN_H

#include <stdint.h>

#include "conn_list.h"
#include "endpoint.h"
#include "relay_state.h"
#include "splice_pump.h"

enum skbox_relay_conn_state {
  SKBOX_RELAY_CONN_WAITING_FDS,
  SKBOX_RELAY_CONN_CONNECTING,
  SKBOX_RELAY_CONN_OPEN,
  SKBOX_RELAY_CONN_DEAD
};

struct skbox_relay_conn {
  struct skbox_relay_link all;        /* on relay->all, then relay->dead */
  struct skbox_relay_link state_link; /* on relay->connecting, relay->waiting, or (open) relay->idle */
  struct skbox_relay_link ready_link; /* on relay->ready */
  enum skbox_relay_conn_state state;
  int client, backend;
  int64_t deadline_ms; /* connecting: give up then; open: close then unless a byte moves */
  struct skbox_relay_endpoint remote, local;
  struct skbox_relay_pump up;   /* client -> backend */
  struct skbox_relay_pump down; /* backend -> client */
};

/* Takes ownership of client_fd: logs the connection, starts connecting to the backend. */
void skbox_relay_conn_start(struct skbox_relay *r, int client_fd);

/* An epoll event for the connection; backend tells which of its sockets. */
void skbox_relay_conn_event(struct skbox_relay *r, struct skbox_relay_conn *c, int backend, uint32_t events);

/* Gives every connection whose pumps yielded another turn. */
void skbox_relay_conn_run_ready(struct skbox_relay *r);

/* Ends connections whose backend did not answer by their deadline, and open ones that
 * moved no byte for the idle timeout. */
void skbox_relay_conn_expire(struct skbox_relay *r, int64_t now);

/* The earliest deadline of skbox_relay_conn_expire, or -1 when there is none. */
int64_t skbox_relay_conn_next_deadline(const struct skbox_relay *r);

/* Retries connections that waited for descriptors; returns 0 when none is left waiting. */
int skbox_relay_conn_retry_waiting(struct skbox_relay *r);

/* Frees the connections closed since the last call (after an event batch: later events in
 * the same batch may still name them). */
void skbox_relay_conn_reap(struct skbox_relay *r);

/* Closes every connection (the relay is stopping). */
void skbox_relay_conn_close_all(struct skbox_relay *r);

#endif
