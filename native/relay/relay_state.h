/* The state of one relay, shared by the loop (relay.c) and the connections (relay_conn.c). */
#ifndef SKBOX_RELAY_STATE_H
#define SKBOX_RELAY_STATE_H

#include <stdint.h>

#include "conn_list.h"
#include "fd_intake.h"
#include "pipe_pool.h"
#include "relay_config.h"

struct skbox_relay {
  struct skbox_relay_config cfg;
  int epfd;
  int stop_fd;         /* eventfd: written by skbox_relay_stop from any thread */
  int intake_watched;  /* the source is in the epoll set (it leaves it while intake is paused) */
  int64_t retry_at_ms; /* after running out of descriptors: when to try again; 0 = not waiting */
  unsigned active;     /* connections holding descriptors */
  unsigned max_active; /* intake pauses at this many */
  struct skbox_relay_pipe_pool pipes;
  struct skbox_relay_intake_counts intake_counts;
  unsigned long reported_counts[3]; /* intake_counts already logged */
  unsigned long idle_closed;        /* connections closed by the idle timeout */
  unsigned long header_refused;     /* connections refused: their PROXY header could not be built */
  int64_t now_ms;                   /* when the current batch of events arrived */

  struct skbox_relay_link all;        /* every live connection */
  struct skbox_relay_link connecting; /* waiting for the backend, oldest (earliest deadline) first */
  struct skbox_relay_link waiting;    /* client taken, descriptors for the rest ran out: retried first */
  struct skbox_relay_link idle;       /* open, least recently active first (only with an idle timeout) */
  struct skbox_relay_link ready;      /* pumps that yielded and want another turn */
  struct skbox_relay_link dead;       /* closed during this batch of events, freed after it */

  char tag_intake, tag_stop; /* their addresses mark the source and the stop eventfd in epoll */
  int stopping;
};

int64_t skbox_relay_now_ms(void);

#endif
