#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg */
#endif
#include "common/fd_send.h"

#include <errno.h>
#include <string.h>

/* MSG's control: one SCM_RIGHTS header carrying FDS[0..N_FDS), in BUF (room for
 * CMSG_SPACE(sizeof(int) * N_FDS), aligned for a cmsghdr). */
static void put_rights(struct msghdr *msg, char *buf, const int *fds, unsigned n_fds) {
  size_t room = CMSG_SPACE(sizeof(int) * n_fds);
  memset(buf, 0, room); /* the padding goes out too */
  msg->msg_control = buf;
  msg->msg_controllen = room;
  struct cmsghdr *c = CMSG_FIRSTHDR(msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
}

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
  if (n_fds > 0) put_rights(&msg, control.buf, fds, n_fds);
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
  for (unsigned i = 0; i < n_fds; i++) {
    msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}}; /* iov: only read, one for all */
    put_rights(&msgs[i].msg_hdr, control[i].buf, &fds[i], 1);
  }
  return sendmmsg(sock, msgs, n_fds, flags);
}

int skbox_open_datagram_sender(void) {
  return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}
