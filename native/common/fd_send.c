#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg */
#endif
#include "common/fd_send.h"

#include <errno.h>
#include <string.h>

ssize_t skbox_send_fds(int sock, const struct sockaddr_un *to, socklen_t to_length, const void *payload, size_t length,
                       const int *fds, unsigned n_fds, int flags) {
  if (n_fds > SKBOX_SEND_MAX_FDS) {
    errno = EINVAL;
    return -1;
  }
  struct iovec iov = {.iov_base = (void *)payload, .iov_len = length};
  struct msghdr msg = {
      .msg_name = (void *)to,
      .msg_namelen = to ? to_length : 0,
      .msg_iov = &iov,
      .msg_iovlen = 1,
  };
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * SKBOX_SEND_MAX_FDS)];
  } control;
  if (n_fds > 0) {
    size_t room = CMSG_SPACE(sizeof(int) * n_fds);
    memset(control.buf, 0, room); /* the padding goes out too */
    msg.msg_control = control.buf;
    msg.msg_controllen = room;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
  }
  return sendmsg(sock, &msg, flags);
}

int skbox_send_fd_each(int sock, const void *payload, size_t length, const int *fds, unsigned n_fds, int flags) {
  if (n_fds > SKBOX_SEND_MAX_FDS) {
    errno = EINVAL;
    return -1;
  }
  struct iovec iov = {.iov_base = (void *)payload, .iov_len = length};
  struct mmsghdr msgs[SKBOX_SEND_MAX_FDS];
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control[SKBOX_SEND_MAX_FDS];
  memset(control, 0, sizeof control[0] * n_fds); /* the padding goes out too */
  for (unsigned i = 0; i < n_fds; i++) {
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov; /* only read by the kernel: one for all */
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_control = control[i].buf;
    msgs[i].msg_hdr.msg_controllen = sizeof control[i].buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fds[i], sizeof(int));
  }
  return sendmmsg(sock, msgs, n_fds, flags);
}

int skbox_open_datagram_sender(void) {
  return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}
