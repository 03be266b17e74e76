#include "pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

#define DEFAULT_PIPE_CAPACITY 65536

void skbox_relay_pipe_pool_init(struct skbox_relay_pipe_pool *pool) {
  pool->count = 0;
  pool->capacity = 0;
}

int skbox_relay_pipe_get(struct skbox_relay_pipe_pool *pool, struct skbox_relay_pipe *out) {
  if (pool->count > 0) {
    *out = pool->idle[--pool->count];
    return 0;
  }
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
  out->r = fds[0];
  out->w = fds[1];
  if (pool->capacity == 0) {
    int size = fcntl(fds[1], F_GETPIPE_SZ);
    pool->capacity = size > 0 ? (size_t)size : DEFAULT_PIPE_CAPACITY;
  }
  return 0;
}

static void close_pipe(struct skbox_relay_pipe *p) {
  if (p->r >= 0) close(p->r);
  if (p->w >= 0) close(p->w);
}

void skbox_relay_pipe_put(struct skbox_relay_pipe_pool *pool, struct skbox_relay_pipe *p, int empty) {
  if (p->r < 0 && p->w < 0) return;
  if (empty && p->r >= 0 && p->w >= 0 && pool->count < SKBOX_RELAY_PIPE_POOL_MAX) pool->idle[pool->count++] = *p;
  else close_pipe(p);
  p->r = p->w = -1;
}

void skbox_relay_pipe_pool_drain(struct skbox_relay_pipe_pool *pool) {
  while (pool->count > 0) close_pipe(&pool->idle[--pool->count]);
}
