#include "common/log_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum sink_kind {
  SINK_NONBLOCKING, /* our own O_NONBLOCK description, or a regular file */
  SINK_SOCKET,      /* send(MSG_DONTWAIT): the socket's description is shared */
  SINK_POLLED,      /* no description of our own could be opened: write only when poll says there is room */
};

struct skbox_log_sink {
  int fd; /* kept open for the life of the process */
  enum sink_kind kind;
  pthread_mutex_t lock; /* one line at a time: lines from several threads never interleave */
  uint64_t dropped;
  uint64_t noted;        /* drops already told in a note line */
  const char *drop_note; /* prefix of that line, or NULL */
  /* The end of a line a terminal or TCP socket took only in part: it goes out
   * first, so that lines stay whole and in order. */
  char rest[SKBOX_LOG_LINE_MAX];
  size_t rest_len;
};

skbox_log_sink *skbox_log_sink_open(int fd, const char *drop_note) {
  skbox_log_sink *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  pthread_mutex_init(&s->lock, NULL);
  s->fd = fd;
  s->drop_note = drop_note;
  s->kind = SINK_NONBLOCKING;
  struct stat st;
  int known = fstat(fd, &st) == 0;
  if (known && S_ISSOCK(st.st_mode)) {
    s->kind = SINK_SOCKET;
  } else if (known && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode))) {
    /* O_NONBLOCK on fd itself would change it for every process sharing it. */
    char path[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int own = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (own >= 0) {
      s->fd = own;
    } else {
      s->kind = SINK_POLLED; /* no /proc, or a pipe whose reader is gone (ENXIO) */
    }
  }
  return s;
}

/* One attempt that cannot block: bytes taken, or -1. */
static ssize_t put(skbox_log_sink *s, const char *buf, size_t len) {
  ssize_t n;
  do {
    if (s->kind == SINK_SOCKET) {
      n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    } else if (s->kind == SINK_POLLED) {
      struct pollfd p = {.fd = s->fd, .events = POLLOUT};
      int room = poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) && !(p.revents & POLLERR);
      if (!room) errno = EAGAIN;
      n = room ? write(s->fd, buf, len) : -1;
    } else {
      n = write(s->fd, buf, len);
    }
  } while (n < 0 && errno == EINTR);
  return n;
}

/* Writes a line or its start, keeping the rest for later: 1 when any of it was taken. */
static int put_line(skbox_log_sink *s, const char *line, size_t len) {
  ssize_t n = put(s, line, len);
  if (n <= 0) return 0;
  s->rest_len = len - (size_t)n;
  memcpy(s->rest, line + n, s->rest_len);
  return 1;
}

/* 1 when nothing of an earlier line is left to write. */
static int finish_rest(skbox_log_sink *s) {
  if (s->rest_len == 0) return 1;
  ssize_t n = put(s, s->rest, s->rest_len);
  if (n <= 0) return 0;
  s->rest_len -= (size_t)n;
  memmove(s->rest, s->rest + n, s->rest_len);
  return s->rest_len == 0;
}

/* 1 when no drop is left untold. */
static int note_drops(skbox_log_sink *s) {
  uint64_t dropped = __atomic_load_n(&s->dropped, __ATOMIC_RELAXED);
  if (!s->drop_note || dropped == s->noted) return 1;
  char note[160];
  uint64_t count = dropped - s->noted;
  int n = snprintf(note, sizeof note, "%s%llu log line%s dropped: the log could not take them (nobody was reading it)\n",
                   s->drop_note, (unsigned long long)count, count == 1 ? "" : "s");
  if (!put_line(s, note, skbox_log_line_length(note, sizeof note, n))) return 0;
  s->noted = dropped;
  return s->rest_len == 0;
}

int skbox_log_sink_write(skbox_log_sink *s, const char *line, size_t len) {
  if (len > SKBOX_LOG_LINE_MAX) len = SKBOX_LOG_LINE_MAX; /* callers cut lines with skbox_log_line_length */
  pthread_mutex_lock(&s->lock);
  int written = finish_rest(s) && note_drops(s) && put_line(s, line, len);
  if (!written) __atomic_fetch_add(&s->dropped, 1, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&s->lock);
  return written;
}

uint64_t skbox_log_sink_dropped(const skbox_log_sink *s) {
  return __atomic_load_n(&s->dropped, __ATOMIC_RELAXED);
}

size_t skbox_log_line_length(char *buf, size_t size, int n) {
  if (n <= 0 || size < 2) return 0;
  if ((size_t)n < size) return (size_t)n;
  buf[size - 2] = '\n'; /* snprintf kept size - 1 bytes and the NUL */
  return size - 1;
}
