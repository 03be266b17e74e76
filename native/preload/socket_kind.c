#include "socket_kind.h"

#include <errno.h>
#include <sys/socket.h>

static int socket_option(int fd, int option) {
  int saved = errno;
  int value = -1;
  socklen_t length = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) value = -1;
  errno = saved;
  return value;
}

int skbox_socket_domain(int fd) {
  return socket_option(fd, SO_DOMAIN);
}

int skbox_socket_type(int fd) {
  return socket_option(fd, SO_TYPE);
}

int skbox_socket_listening(int fd) {
  return socket_option(fd, SO_ACCEPTCONN);
}

int skbox_is_inet_stream(int fd) {
  if (skbox_socket_type(fd) != SOCK_STREAM) return 0;
  int domain = skbox_socket_domain(fd);
  /* AF_INET too: some daemons hand an IPv6 address to an IPv4 socket (guacd). */
  return domain == AF_INET || domain == AF_INET6;
}
