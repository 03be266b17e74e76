#include "server/registration_socket.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/datagram_bind.h"

int skbox_open_registration_socket(const char *path, mode_t mode, long long uid, long long gid, int backlog,
                                   const char **why) {
  int fd = skbox_bind_unix_socket(path, SOCK_SEQPACKET, mode, uid, gid, why);
  if (fd < 0) return -1;
  if (listen(fd, backlog) < 0) {
    int e = errno;
    *why = "listen";
    if (path[0] != '@') unlink(path);
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}
