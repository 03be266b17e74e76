#include "server/sd_notify.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int skbox_notify_connect(const char *address, const char **step) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t len = strlen(address);
  /* An abstract name keeps its leading NUL in sun_path and has no terminator. */
  int abstract = address[0] == '@';
  if ((address[0] != '/' && !abstract) || len < 2 || len > sizeof sa.sun_path - (abstract ? 0 : 1)) {
    *step = "NOTIFY_SOCKET must be an absolute path or an abstract @name that fits in sun_path";
    errno = EINVAL;
    return -1;
  }
  memcpy(sa.sun_path, address, len);
  if (abstract) sa.sun_path[0] = '\0';
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (abstract ? 0 : 1));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *step = "socket";
    return -1;
  }
  if (connect(fd, (struct sockaddr *)&sa, salen) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    *step = "connect";
    return -1;
  }
  return fd;
}

int skbox_notify_send(int fd, const char *message, size_t len, int timeout_ms) {
  for (int waited = 0;; waited = 1) {
    ssize_t n = send(fd, message, len, MSG_NOSIGNAL);
    if (n == (ssize_t)len) return 0;
    if (n >= 0) {
      errno = EMSGSIZE;
      return -1;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN || waited) return -1;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int r;
    while ((r = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    if (r == 0) {
      errno = EAGAIN;
      return -1;
    }
  }
}
