/* Benchmark stand-in for `socketbox -S PATH`: accept TCP connections on [ADDR]:PORT and send
 * each accepted socket to the datagram socket PATH (payload "\0" + SCM_RIGHTS, docs/wire-protocol.md), then
 * close our copy. The datagram socket is connected to PATH, so a full receiver queue blocks
 * the send (nothing is lost) instead of failing with EAGAIN.
 * Usage: tcp-to-unix-sender ADDR PORT PATH */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int listen_tcp(const char *addr, int port) {
  struct sockaddr_in6 sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons((unsigned short)port);
  if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1) return -1;
  int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 4096) != 0)
    return -1;
  return s;
}

static int connect_unix(const char *path) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(sa.sun_path)) return -1;
  strcpy(sa.sun_path, path);
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) return -1;
  return s;
}

static int send_fd(int via, int fd) {
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
  } control;
  memset(&control, 0, sizeof(control));
  char payload = 0;
  struct iovec iov = {.iov_base = &payload, .iov_len = 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                     .msg_controllen = sizeof(control.buf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n;
  do n = sendmsg(via, &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == 1 ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s ADDR PORT PATH\n", argv[0]);
    return 2;
  }
  int listener = listen_tcp(argv[1], atoi(argv[2]));
  if (listener < 0) {
    perror("listen");
    return 1;
  }
  int target = connect_unix(argv[3]);
  if (target < 0) {
    perror("connect to receiver");
    return 1;
  }
  for (;;) {
    int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      perror("accept");
      return 1;
    }
    if (send_fd(target, conn) != 0) perror("sendmsg");
    close(conn);
  }
}
