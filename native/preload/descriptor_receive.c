#include "descriptor_receive.h"

#include "common/received_fds.h"
#include "socket_kind.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int skbox_receive_connection(int sock, int strict_mode) {
  for (;;) {
    char payload[64];
    struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
    union {
      char buffer[CMSG_SPACE(sizeof(int) * SKBOX_RECEIVE_MAX_FDS)];
      struct cmsghdr align;
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buffer;
    msg.msg_controllen = sizeof(control.buffer);

    /* MSG_CMSG_CLOEXEC: no window in which a concurrent fork+exec inherits the connection. */
    ssize_t got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (got < 0) return -1;

    unsigned extra_closed = 0;
    int fd = skbox_keep_first_descriptor(&msg, &extra_closed);
    if (fd < 0) {
      /* On a stream, 0 bytes without descriptors is the peer's end: never more to accept. */
      if (got == 0 && skbox_socket_type(sock) != SOCK_DGRAM) {
        errno = EINVAL;
        return -1;
      }
      continue;
    }
    if (skbox_descriptor_acceptable(fd, strict_mode)) return fd;
    close(fd);
  }
}
