#include "common/registration_client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fd_send.h"
#include "common/unix_address.h"

static int fail(int fd, const char **why, const char *what) {
  int e = errno;
  if (fd >= 0) close(fd);
  *why = what;
  errno = e;
  return -1;
}

/* The answer's descriptor, if any: kept only when it is a listening TCP socket. */
static int listener_from(struct msghdr *msg) {
  int kept = -1;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      int type = 0, listening = 0;
      socklen_t tl = sizeof type, ll = sizeof listening;
      if (kept < 0 && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM &&
          getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) == 0 && listening)
        kept = fd;
      else close(fd);
    }
  }
  return kept;
}

static int register_with(const char *path, uint32_t group, int timeout_ms, unsigned char command, int *listener,
                         const char **why) {
  struct sockaddr_un addr;
  int len = skbox_unix_address(path, &addr);
  if (len < 0) return fail(-1, why, "bad registration socket path");
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(fd, why, "socket");
  if (connect(fd, (struct sockaddr *)&addr, (socklen_t)len) < 0) return fail(fd, why, "connect");
  unsigned char request[8] = {command,
                              0,
                              0,
                              0,
                              (unsigned char)(group >> 24),
                              (unsigned char)(group >> 16),
                              (unsigned char)(group >> 8),
                              (unsigned char)group};
  if (skbox_send_fds(fd, NULL, 0, request, sizeof request, NULL, 0, MSG_NOSIGNAL) != (ssize_t)sizeof request)
    return fail(fd, why, "send");
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int ready;
  while ((ready = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  if (ready < 0) return fail(fd, why, "poll");
  if (ready == 0) {
    errno = ETIMEDOUT;
    return fail(fd, why, "no answer from the registration server");
  }
  unsigned char answer[16];
  union {
    char buf[CMSG_SPACE(4 * sizeof(int))];
    struct cmsghdr align;
  } control;
  struct iovec iov = {answer, sizeof answer};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
  if (n < 0 && errno != ECONNRESET) return fail(fd, why, "recv");
  int received = n >= 0 ? listener_from(&msg) : -1;
  if (n != 4 || memcmp(answer, "\x80\0\0\0", 4) != 0) {
    if (received >= 0) close(received);
    errno = EACCES;
    return fail(fd, why, "the registration server refused the registration");
  }
  if (listener) *listener = received;
  else if (received >= 0) close(received);
  return fd;
}

int skbox_register(const char *path, uint32_t group, int timeout_ms, const char **why) {
  return register_with(path, group, timeout_ms, 1, NULL, why);
}

int skbox_register_listener(const char *path, uint32_t group, int timeout_ms, int *listener, const char **why) {
  *listener = -1;
  return register_with(path, group, timeout_ms, 2, listener, why);
}
