#include "fd_validate.h"

#include <sys/socket.h>

static int socket_option(int fd, int option) {
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) return -1;
  return value;
}

int skc_descriptor_acceptable(int fd, int level) {
  if (level <= 0) return 1;
  /* getsockopt fails with ENOTSOCK for pipes and files: they are rejected here too. */
  if (socket_option(fd, SO_TYPE) != SOCK_STREAM) return 0;
  if (level == 1) return 1;
  switch (socket_option(fd, SO_DOMAIN)) {
    case AF_UNIX:
    case AF_INET:
    case AF_INET6:
      return 1;
    default:
      return 0;
  }
}
