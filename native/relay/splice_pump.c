#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "splice_pump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Rounds of read-then-write per run: a busy connection lets the others have their turn
 * after about this many pipe loads. */
#define ROUNDS_PER_RUN 16

enum io_result { IO_MOVED, IO_AGAIN, IO_EOF, IO_FAILED, IO_UNSUPPORTED };

void skbox_relay_pump_init(struct skbox_relay_pump *p, struct skbox_relay_pipe pipe, size_t capacity) {
  memset(p, 0, sizeof(*p));
  p->pipe = pipe;
  p->capacity = capacity;
}

int skbox_relay_pump_preload(struct skbox_relay_pump *p, const void *data, size_t len) {
  if (len == 0) return 0;
  /* An empty pipe always takes a write this small whole. */
  if (write(p->pipe.w, data, len) != (ssize_t)len) return -1;
  p->pending += len;
  return 0;
}

/* Switches the direction to read/write: the pipe's contents move to a buffer. */
static int enter_copy_mode(struct skbox_relay_pump *p) {
  p->buf = malloc(p->capacity);
  if (!p->buf) return -1;
  size_t have = 0;
  while (have < p->pending) {
    ssize_t n = read(p->pipe.r, p->buf + have, p->pending - have);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return -1;
    }
    have += (size_t)n;
  }
  close(p->pipe.r);
  close(p->pipe.w);
  p->pipe.r = p->pipe.w = -1;
  p->off = 0;
  return 0;
}

static enum io_result classify(ssize_t n, int reading) {
  if (n > 0) return IO_MOVED;
  if (n == 0) return reading ? IO_EOF : IO_AGAIN;
  if (errno == EAGAIN) return IO_AGAIN;
  if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) return IO_UNSUPPORTED;
  return IO_FAILED;
}

static enum io_result fill(struct skbox_relay_pump *p, int src) {
  size_t room = p->capacity - p->pending;
  ssize_t n;
  if (p->buf) {
    /* Copy mode keeps the unsent bytes at buf[off..off+pending); make room at the end. */
    if (p->off > 0) {
      memmove(p->buf, p->buf + p->off, p->pending);
      p->off = 0;
    }
    do n = read(src, p->buf + p->pending, room);
    while (n < 0 && errno == EINTR);
  } else {
    do n = splice(src, NULL, p->pipe.w, NULL, room, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    while (n < 0 && errno == EINTR);
  }
  enum io_result r = classify(n, 1);
  if (r == IO_MOVED) {
    p->pending += (size_t)n;
    p->moved += (size_t)n;
  }
  return r;
}

static enum io_result drain(struct skbox_relay_pump *p, int dst) {
  ssize_t n;
  if (p->buf) {
    do n = send(dst, p->buf + p->off, p->pending, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && errno == ENOTSOCK) {
      do n = write(dst, p->buf + p->off, p->pending);
      while (n < 0 && errno == EINTR);
    }
  } else {
    do n = splice(p->pipe.r, NULL, dst, NULL, p->pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    while (n < 0 && errno == EINTR);
  }
  enum io_result r = classify(n, 0);
  if (r == IO_MOVED) {
    p->pending -= (size_t)n;
    p->moved += (size_t)n;
    if (p->buf) p->off = p->pending ? p->off + (size_t)n : 0;
  }
  return r;
}

enum skbox_relay_pump_status skbox_relay_pump_run(struct skbox_relay_pump *p, int src, int dst) {
  if (p->done) return SKBOX_RELAY_PUMP_DONE;
  if (p->failed) return SKBOX_RELAY_PUMP_WRITE_FAILED;
  for (int round = 0; round < ROUNDS_PER_RUN; round++) {
    int progress = 0;
    if (!p->src_eof && p->pending < p->capacity) {
      enum io_result r = fill(p, src);
      if (r == IO_UNSUPPORTED && !p->buf) {
        if (enter_copy_mode(p) != 0) return SKBOX_RELAY_PUMP_READ_FAILED;
        r = fill(p, src);
      }
      if (r == IO_MOVED) progress = 1;
      else if (r == IO_EOF) p->src_eof = 1, progress = 1;
      else if (r != IO_AGAIN) return SKBOX_RELAY_PUMP_READ_FAILED;
    }
    if (p->pending > 0) {
      enum io_result w = drain(p, dst);
      if (w == IO_UNSUPPORTED && !p->buf) {
        if (enter_copy_mode(p) != 0) return SKBOX_RELAY_PUMP_WRITE_FAILED;
        w = drain(p, dst);
      }
      if (w == IO_MOVED) progress = 1;
      else if (w != IO_AGAIN) {
        p->failed = 1;
        return SKBOX_RELAY_PUMP_WRITE_FAILED;
      }
    }
    if (p->src_eof && p->pending == 0) {
      shutdown(dst, SHUT_WR);
      p->done = 1;
      return SKBOX_RELAY_PUMP_DONE;
    }
    if (!progress) return SKBOX_RELAY_PUMP_WAITING;
  }
  return SKBOX_RELAY_PUMP_YIELDED;
}

void skbox_relay_pump_release(struct skbox_relay_pump *p, struct skbox_relay_pipe_pool *pool) {
  skbox_relay_pipe_put(pool, &p->pipe, p->pending == 0);
  free(p->buf);
  p->buf = NULL;
}
