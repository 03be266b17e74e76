#include "fd_flags.h"

#include <fcntl.h>

int skbox_make_blocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -1;
  if (!(flags & O_NONBLOCK)) return 0;
  return fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

int skbox_make_inheritable(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return -1;
  if (!(flags & FD_CLOEXEC)) return 0;
  return fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
}
