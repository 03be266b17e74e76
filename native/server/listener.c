#include "server/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int set_flag(int fd, int level, int name, const char *what, const char **step) {
  int one = 1;
  if (setsockopt(fd, level, name, &one, sizeof one) == 0) return 0;
  *step = what;
  return -1;
}

int skbox_listener_bind(const skbox_listener_options *o, const char **step) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) {
    *step = "socket";
    return -1;
  }
  if ((o->transparent && set_flag(fd, SOL_IPV6, IPV6_TRANSPARENT, "setsockopt(IPV6_TRANSPARENT)", step)) ||
      (o->freebind && set_flag(fd, SOL_IPV6, IPV6_FREEBIND, "setsockopt(IPV6_FREEBIND)", step)) ||
      (o->reuseaddr && set_flag(fd, SOL_SOCKET, SO_REUSEADDR, "setsockopt(SO_REUSEADDR)", step)) ||
      (o->reuseport && set_flag(fd, SOL_SOCKET, SO_REUSEPORT, "setsockopt(SO_REUSEPORT)", step))) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  struct sockaddr_in6 sa;
  memset(&sa, 0, sizeof sa);
  sa.sin6_family = AF_INET6;
  memcpy(&sa.sin6_addr, o->addr, 16);
  sa.sin6_port = htons(o->port);
  sa.sin6_scope_id = o->scope_id;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    *step = "bind";
    return -1;
  }
  return fd;
}

int skbox_listener_adopt(int fd, const char **why) {
  struct stat st;
  if (fstat(fd, &st) < 0) {
    *why = "is not an open descriptor";
    return -1;
  }
  if (!S_ISSOCK(st.st_mode)) {
    *why = "is not a socket";
    return -1;
  }
  int type = 0, domain = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
    *why = "is not a stream socket";
    return -1;
  }
  len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || (domain != AF_INET6 && domain != AF_INET)) {
    *why = "is not a TCP (IPv4/IPv6) socket";
    return -1;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    *why = "cannot be made non-blocking";
    return -1;
  }
  /* Our own copy must not leak into programs we start. */
  fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  return 0;
}
