#include "fd_intake.h"

#include "common/received_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS_PER_MESSAGE 16

static int int_option(int fd, int option) {
  int value = -1;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) return -1;
  return value;
}

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
  char payload[64];
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_MESSAGE)];
  } control;
  struct msghdr m;
  ssize_t n;
  for (;;) {
    struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control.buf;
    m.msg_controllen = sizeof(control.buf);
    n = recvmsg(source, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return RLY_INTAKE_AGAIN;
    if (errno == ECONNRESET || errno == ENOTCONN) return RLY_INTAKE_END;
    if (errno == ENOBUFS || errno == ENOMEM) return RLY_INTAKE_NO_FDS;
    return RLY_INTAKE_ERROR;
  }
  if (m.msg_flags & MSG_CTRUNC) counts->truncated++;
  unsigned extra_closed = 0;
  int got = skbox_keep_first_descriptor(&m, &extra_closed);
  counts->extra_closed += extra_closed;
  if (got < 0) {
    /* Zero bytes and no descriptor: the end of a connected stream or seqpacket socket;
     * on a datagram socket just an empty message. */
    if (n == 0 && int_option(source, SO_TYPE) != SOCK_DGRAM) return RLY_INTAKE_END;
    return RLY_INTAKE_SKIPPED;
  }
  int fl = fcntl(got, F_GETFL);
  if (!skbox_descriptor_acceptable(got, level) || fl < 0 || fcntl(got, F_SETFL, fl | O_NONBLOCK) != 0) {
    close(got);
    counts->rejected++;
    return RLY_INTAKE_SKIPPED;
  }
  *fd = got;
  return RLY_INTAKE_FD;
}

enum rly_intake_result rly_intake(int source, enum rly_source_kind kind, int level, int *fd,
                                  struct rly_intake_counts *counts) {
  *fd = -1;
  return kind == RLY_SOURCE_LISTEN ? accept_one(source, fd) : receive_one(source, level, fd, counts);
}
