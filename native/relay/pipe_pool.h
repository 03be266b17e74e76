/* Pipes carry a connection's bytes between its sockets (splice needs a pipe on one side).
 * Creating two pipes per connection costs four syscalls, so emptied pipes are kept for the
 * next connection, up to a small bound. */
#ifndef SKBOX_RELAY_PIPE_POOL_H
#define SKBOX_RELAY_PIPE_POOL_H

#include <stddef.h>

#define SKBOX_RELAY_PIPE_POOL_MAX 32

struct skbox_relay_pipe {
  int r, w;
};

struct skbox_relay_pipe_pool {
  struct skbox_relay_pipe idle[SKBOX_RELAY_PIPE_POOL_MAX];
  unsigned count;
  size_t capacity; /* bytes a pipe holds, learnt from the first one made */
};

void skbox_relay_pipe_pool_init(struct skbox_relay_pipe_pool *pool);

/* A non-blocking, close-on-exec pipe; -1 with errno (EMFILE...) when none can be made. */
int skbox_relay_pipe_get(struct skbox_relay_pipe_pool *pool, struct skbox_relay_pipe *out);

/* Gives a pipe back: kept when empty and there is room, closed otherwise. */
void skbox_relay_pipe_put(struct skbox_relay_pipe_pool *pool, struct skbox_relay_pipe *p, int empty);

/* Closes every kept pipe. */
void skbox_relay_pipe_pool_drain(struct skbox_relay_pipe_pool *pool);

#endif
