/* One direction of a connection: bytes read from src are written to dst, through a pipe
 * with splice (no copy into user space). When src ends and everything read has been
 * written, dst is shut down for writing: half-close travels on. Only sockets that splice
 * refuses (EINVAL: possible with SKBOX_STRICT_STREAM_MODE=0) fall back to read/write
 * through a buffer of the same size, so a direction never holds more than one pipe's worth.
 *
 * The pump works with edge-triggered readiness: it stops only once src has nothing more
 * (EAGAIN with room to spare) or dst takes nothing more (EAGAIN with bytes pending), so the
 * next edge on one of them is certain to come. */
#ifndef SKBOX_RELAY_SPLICE_PUMP_H
#define SKBOX_RELAY_SPLICE_PUMP_H

#include <stddef.h>

#include "pipe_pool.h"

enum skbox_relay_pump_status {
  SKBOX_RELAY_PUMP_WAITING,      /* for src to have bytes or dst to have room */
  SKBOX_RELAY_PUMP_YIELDED,      /* stopped after its share of work; run it again soon */
  SKBOX_RELAY_PUMP_DONE,         /* src ended, all delivered, dst shut down for writing */
  SKBOX_RELAY_PUMP_READ_FAILED,  /* src reported an error (reset) */
  SKBOX_RELAY_PUMP_WRITE_FAILED, /* dst refused bytes for good (EPIPE, reset) */
};

struct skbox_relay_pump {
  struct skbox_relay_pipe pipe;
  unsigned char *buf; /* copy mode only */
  size_t off;         /* copy mode: first byte of buf not yet written */
  size_t pending;     /* bytes taken from src and not yet written to dst */
  size_t capacity;
  unsigned long long moved; /* bytes read plus bytes written so far: grows while bytes flow */
  unsigned src_eof : 1;
  unsigned done : 1;
  unsigned failed : 1;
};

void skbox_relay_pump_init(struct skbox_relay_pump *p, struct skbox_relay_pipe pipe, size_t capacity);

/* Puts bytes in front of everything src will send (the PROXY header); len <= capacity. */
int skbox_relay_pump_preload(struct skbox_relay_pump *p, const void *data, size_t len);

enum skbox_relay_pump_status skbox_relay_pump_run(struct skbox_relay_pump *p, int src, int dst);

/* Releases the pipe (back to the pool when empty) and the copy buffer. */
void skbox_relay_pump_release(struct skbox_relay_pump *p, struct skbox_relay_pipe_pool *pool);

#endif
