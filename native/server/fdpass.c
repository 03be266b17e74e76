#include "server/fdpass.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int skbox_send_fd(int via_socket, int fd_to_send) {
  static const char payload = 0;
  return skbox_send_fd_with(via_socket, fd_to_send, &payload, 1);
}

int skbox_send_fd_with(int via_socket, int fd_to_send, const void *payload, size_t len) {
  struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd_to_send, sizeof(int));
  /* MSG_DONTWAIT rather than O_NONBLOCK: inherited descriptors (jump-fd, -i)
   * share their file status flags with other processes. */
  return sendmsg(via_socket, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

void skbox_reset_close(int fd) {
  struct linger l = {.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}
