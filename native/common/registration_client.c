#include "common/registration_client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unix_address.h"

static int fail(int fd, const char **why, const char *what) {
  int e = errno;
  if (fd >= 0) close(fd);
  *why = what;
  errno = e;
  return -1;
}

int skbox_register(const char *path, uint32_t group, int timeout_ms, const char **why) {
  struct sockaddr_un addr;
  int len = skbox_unix_address(path, &addr);
  if (len < 0) return fail(-1, why, "bad registration socket path");
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(fd, why, "socket");
  if (connect(fd, (struct sockaddr *)&addr, (socklen_t)len) < 0) return fail(fd, why, "connect");
  unsigned char request[8] = {1, 0, 0, 0, (unsigned char)(group >> 24), (unsigned char)(group >> 16),
                              (unsigned char)(group >> 8), (unsigned char)group};
  if (send(fd, request, sizeof request, MSG_NOSIGNAL) != (ssize_t)sizeof request) return fail(fd, why, "send");
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
  ssize_t n = recv(fd, answer, sizeof answer, MSG_DONTWAIT | MSG_TRUNC);
  if (n < 0 && errno != ECONNRESET) return fail(fd, why, "recv");
  if (n != 4 || memcmp(answer, "\x80\0\0\0", 4) != 0) {
    errno = EACCES;
    return fail(fd, why, "the registration server refused the registration");
  }
  return fd;
}
