/* The state of one relay, shared by the loop (relay.c) and the connections (relay_conn.c). */
#ifndef RLY_RELAY_STATE_H
#define RLY_RELAY_STATE_H

#include <stdint.h>

#include "conn_list.h"
#include "fd_intake.h"
#include "pipe_pool.h"
#include "relay_config.h"

struct rly_relay {
  struct rly_config cfg;
  int epfd;
  int stop_fd;         /* eventfd: written by rly_relay_stop from any thread */
  int intake_watched;  /* the source is in the epoll set (it leaves it while intake is paused) */
  int64_t retry_at_ms; /* after running out of descriptors: when to try again; 0 = not waiting */
  unsigned active;     /* connections holding descriptors */
  unsigned max_active; /* intake pauses at this many */
  struct rly_pipe_pool pipes;
  struct rly_intake_counts intake_counts;
  unsigned long reported_counts[3]; /* intake_counts already logged */
  unsigned long idle_closed;        /* connections closed by the idle timeout */
  unsigned long header_refused;     /* connections refused: their PROXY header could not be built */
  int64_t now_ms;                   /* when the current batch of events arrived */

  struct rly_link all;        /* every live connection */
  struct rly_link connecting; /* waiting for the backend, oldest (earliest deadline) first */
  struct rly_link waiting;    /* client taken, descriptors for the rest ran out: retried first */
  struct rly_link idle;       /* open, least recently active first (only with an idle timeout) */
  struct rly_link ready;      /* pumps that yielded and want another turn */
  struct rly_link dead;       /* closed during this batch of events, freed after it */

  char tag_intake, tag_stop; /* their addresses mark the source and the stop eventfd in epoll */
  int stopping;
};

int64_t rly_now_ms(void);

#endif
