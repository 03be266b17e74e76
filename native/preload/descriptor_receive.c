#include "descriptor_receive.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int socket_option(int fd, int option) {
  int value = -1;
  socklen_t length = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) return -1;
  return value;
}

int skbox_descriptor_acceptable(int fd, int strict_mode) {
  if (strict_mode <= 0) return 1;
  /* Pipes and files fail getsockopt (ENOTSOCK) and are rejected with the rest. */
  if (socket_option(fd, SO_TYPE) != SOCK_STREAM) return 0;
  if (strict_mode == 1) return 1;
  switch (socket_option(fd, SO_DOMAIN)) {
    case AF_UNIX:
    case AF_INET:
    case AF_INET6:
      return 1;
    default:
      return 0;
  }
}

/* Keeps the first descriptor of the first SCM_RIGHTS message in *KEPT (or -1), closes all
 * the others in MSG. */
static void take_first_descriptor(struct msghdr *msg, int *kept) {
  *kept = -1;
  for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg); cmsg != NULL; cmsg = CMSG_NXTHDR(msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char *data = CMSG_DATA(cmsg);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, data + i * sizeof(int), sizeof(int));
      if (*kept < 0)
        *kept = fd;
      else
        close(fd);
    }
  }
}

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

    int fd;
    take_first_descriptor(&msg, &fd);
    if (fd < 0) {
      /* On a stream, 0 bytes without descriptors is the peer's end: never more to accept. */
      if (got == 0 && socket_option(sock, SO_TYPE) != SOCK_DGRAM) {
        errno = EINVAL;
        return -1;
      }
      continue;
    }
    if (skbox_descriptor_acceptable(fd, strict_mode)) return fd;
    close(fd);
  }
}
