#include "fd_intake.h"

#include "common/fd_receive.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static enum rly_intake_result accept_one(int source, int *fd) {
  for (;;) {
    int c = accept4(source, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      *fd = c;
      return RLY_INTAKE_FD;
    }
    switch (errno) {
      case EINTR:
        continue;
      case EAGAIN:
        return RLY_INTAKE_AGAIN;
      case EMFILE:
      case ENFILE:
      case ENOBUFS:
      case ENOMEM:
        return RLY_INTAKE_NO_FDS; /* the connection stays in the backlog */
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
      case ETIMEDOUT:
        return RLY_INTAKE_SKIPPED; /* that one connection failed, not the listener */
      default:
        return RLY_INTAKE_ERROR;
    }
  }
}

static enum rly_intake_result receive_one(int source, int level, int *fd, struct rly_intake_counts *counts) {
  struct skc_received got;
  enum skc_receive_status st = skc_receive_fd(source, level, 0, &got);
  counts->truncated += got.truncated;
  counts->extra_closed += got.extra_closed;
  counts->rejected += got.rejected;
  switch (st) {
    case SKC_RECEIVE_AGAIN: return RLY_INTAKE_AGAIN;
    case SKC_RECEIVE_END: return RLY_INTAKE_END;
    case SKC_RECEIVE_NO_FD: return RLY_INTAKE_SKIPPED;
    case SKC_RECEIVE_ERROR:
      if (errno == ECONNRESET || errno == ENOTCONN) return RLY_INTAKE_END;
      if (errno == ENOBUFS || errno == ENOMEM) return RLY_INTAKE_NO_FDS;
      return RLY_INTAKE_ERROR;
    case SKC_RECEIVE_FD: break;
  }
  /* The relay's loop is non-blocking throughout. */
  int fl = fcntl(got.fd, F_GETFL);
  if (fl < 0 || fcntl(got.fd, F_SETFL, fl | O_NONBLOCK) != 0) {
    close(got.fd);
    counts->rejected++;
    return RLY_INTAKE_SKIPPED;
  }
  *fd = got.fd;
  return RLY_INTAKE_FD;
}

enum rly_intake_result rly_intake(int source, enum rly_source_kind kind, int level, int *fd,
                                  struct rly_intake_counts *counts) {
  *fd = -1;
  return kind == RLY_SOURCE_LISTEN ? accept_one(source, fd) : receive_one(source, level, fd, counts);
}
