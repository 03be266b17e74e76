/* Pipes carry a connection's bytes between its sockets (splice needs a pipe on one side).
 * Creating two pipes per connection costs four syscalls, so emptied pipes are kept for the
 * next connection, up to a small bound. */
#ifndef RLY_PIPE_POOL_H
#define RLY_PIPE_POOL_H

#include <stddef.h>

#define RLY_PIPE_POOL_MAX 32

struct rly_pipe {
  int r, w;
};

struct rly_pipe_pool {
  struct rly_pipe idle[RLY_PIPE_POOL_MAX];
  unsigned count;
  size_t capacity; /* bytes a pipe holds, learnt from the first one made */
};

void rly_pipe_pool_init(struct rly_pipe_pool *pool);

/* A non-blocking, close-on-exec pipe; -1 with errno (EMFILE...) when none can be made. */
int rly_pipe_get(struct rly_pipe_pool *pool, struct rly_pipe *out);

/* Gives a pipe back: kept when empty and there is room, closed otherwise. */
void rly_pipe_put(struct rly_pipe_pool *pool, struct rly_pipe *p, int empty);

/* Closes every kept pipe. */
void rly_pipe_pool_drain(struct rly_pipe_pool *pool);

#endif
