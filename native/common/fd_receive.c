#include "common/fd_receive.h"
#include "common/received_fds.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int socket_type(int sock) {
  int type = -1;
  socklen_t len = sizeof(type);
  if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return -1;
  return type;
}

static int wait_readable(int sock) {
  struct pollfd p = {.fd = sock, .events = POLLIN};
  while (poll(&p, 1, -1) < 0) {
    if (errno != EINTR) return -1;
  }
  return 0;
}

enum skbox_receive_status skbox_receive_fd(int sock, int level, int wait, struct skbox_received *out) {
  char payload[SKBOX_RECEIVE_PAYLOAD_MAX];
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * SKBOX_FD_RECEIVE_MAX_FDS)];
  } control;
  memset(out, 0, sizeof(*out));
  out->fd = -1;

  ssize_t n;
  struct msghdr m;
  for (;;) {
    struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control.buf;
    m.msg_controllen = sizeof(control.buf);
    n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return SKBOX_RECEIVE_ERROR;
    if (!wait) return SKBOX_RECEIVE_AGAIN;
    if (wait_readable(sock) != 0) return SKBOX_RECEIVE_ERROR;
  }

  out->truncated = (m.msg_flags & MSG_CTRUNC) != 0;
  unsigned extra_closed = 0;
  out->fd = skbox_keep_first_descriptor(&m, &extra_closed);
  out->extra_closed += extra_closed;

  if (out->fd < 0) {
    /* An empty read without descriptors is the end of a connected stream or seqpacket
     * socket; on a datagram socket it is just an empty message. */
    if (n == 0 && socket_type(sock) != SOCK_DGRAM) return SKBOX_RECEIVE_END;
    return SKBOX_RECEIVE_NO_FD;
  }
  if (!skbox_descriptor_acceptable(out->fd, level)) {
    close(out->fd);
    out->fd = -1;
    out->rejected = 1;
    return SKBOX_RECEIVE_NO_FD;
  }
  return SKBOX_RECEIVE_FD;
}
