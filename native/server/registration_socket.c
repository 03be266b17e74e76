#include "server/registration_socket.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/datagram_bind.h"

int skbox_open_registration_socket(const char *path, mode_t mode, long long uid, long long gid, int backlog,
                                   const char **why) {
  int fd = skbox_bind_unix_socket(path, SOCK_SEQPACKET, mode);
  if (fd < 0) {
    *why = "bind";
    return -1;
  }
  if (path[0] != '@' && (uid >= 0 || gid >= 0) && chown(path, (uid_t)uid, (gid_t)gid) < 0) {
    *why = "chown";
    goto fail;
  }
  if (listen(fd, backlog) < 0) {
    *why = "listen";
    goto fail;
  }
  return fd;
fail: {
  int e = errno;
  if (path[0] != '@') unlink(path);
  close(fd);
  errno = e;
  return -1;
}
}
