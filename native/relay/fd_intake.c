#include "fd_intake.h"

#include "common/fd_receive.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static enum skbox_relay_intake_result accept_one(int source, int *fd) {
  for (;;) {
    int c = accept4(source, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      *fd = c;
      return SKBOX_RELAY_INTAKE_FD;
    }
    switch (errno) {
      case EINTR: continue;
      case EAGAIN: return SKBOX_RELAY_INTAKE_AGAIN;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM: return SKBOX_RELAY_INTAKE_NO_FDS; /* the connection stays in the backlog */
      case ECONNABORTED:
      case EPROTO:
      case EPERM:
      case ENETDOWN:
      case ENETUNREACH:
      case ENOPROTOOPT:
      case EHOSTDOWN:
      case EHOSTUNREACH:
      case ENONET:
      case EOPNOTSUPP:
      case ETIMEDOUT: return SKBOX_RELAY_INTAKE_SKIPPED; /* that one connection failed, not the listener */
      default: return SKBOX_RELAY_INTAKE_ERROR;
    }
  }
}

static enum skbox_relay_intake_result receive_one(int source, int level, int *fd,
                                                  struct skbox_relay_intake_counts *counts) {
  struct skbox_received got;
  enum skbox_receive_status st = skbox_receive_fd(source, level, 0, &got);
  counts->truncated += got.truncated;
  counts->extra_closed += got.extra_closed;
  counts->rejected += got.rejected;
  switch (st) {
    case SKBOX_RECEIVE_AGAIN: return SKBOX_RELAY_INTAKE_AGAIN;
    case SKBOX_RECEIVE_END: return SKBOX_RELAY_INTAKE_END;
    case SKBOX_RECEIVE_NO_FD: return SKBOX_RELAY_INTAKE_SKIPPED;
    case SKBOX_RECEIVE_ERROR:
      if (errno == ECONNRESET || errno == ENOTCONN) return SKBOX_RELAY_INTAKE_END;
      if (errno == ENOBUFS || errno == ENOMEM) return SKBOX_RELAY_INTAKE_NO_FDS;
      return SKBOX_RELAY_INTAKE_ERROR;
    case SKBOX_RECEIVE_FD: break;
  }
  /* The relay's loop is non-blocking throughout. */
  int fl = fcntl(got.fd, F_GETFL);
  if (fl < 0 || fcntl(got.fd, F_SETFL, fl | O_NONBLOCK) != 0) {
    close(got.fd);
    counts->rejected++;
    return SKBOX_RELAY_INTAKE_SKIPPED;
  }
  *fd = got.fd;
  return SKBOX_RELAY_INTAKE_FD;
}

enum skbox_relay_intake_result skbox_relay_intake(int source, enum skbox_relay_source_kind kind, int level, int *fd,
                                                  struct skbox_relay_intake_counts *counts) {
  *fd = -1;
  return kind == SKBOX_RELAY_SOURCE_LISTEN ? accept_one(source, fd) : receive_one(source, level, fd, counts);
}
