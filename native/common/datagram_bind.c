#include "common/datagram_bind.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/socket_file.h"
#include "common/unix_address.h"

/* 1 when a socket file at ADDR has no process behind it, 0 when one is live, -1 on error. */
static int socket_file_is_stale(const struct sockaddr_un *addr, socklen_t len) {
  int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return -1;
  int rc = connect(probe, (const struct sockaddr *)addr, len);
  int err = errno;
  close(probe);
  if (rc == 0) return 0;
  if (err == ECONNREFUSED) return 1;
  if (err == EPROTOTYPE) return 0; /* a live socket of another type */
  errno = err;
  return -1;
}

/* Clears the way for bind(): removes a stale socket file, refuses everything else. */
static int prepare_socket_path(const char *path, const struct sockaddr_un *addr, socklen_t len) {
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
  if (!S_ISSOCK(st.st_mode)) {
    errno = ENOTSOCK;
    return -1;
  }
  int stale = socket_file_is_stale(addr, len);
  if (stale < 0) return -1;
  if (!stale) {
    errno = EADDRINUSE;
    return -1;
  }
  if (unlink(path) != 0 && errno != ENOENT) return -1;
  return 0;
}

int skbox_bind_datagram_socket(const char *path, mode_t mode) {
  const char *step;
  return skbox_bind_unix_socket(path, SOCK_DGRAM, mode, -1, -1, &step);
}

int skbox_bind_unix_socket(const char *path, int type, mode_t mode, long long uid, long long gid, const char **step) {
  struct sockaddr_un addr;
  *step = "bind";
  int len = skbox_unix_address(path, &addr);
  if (len < 0) return -1;
  int abstract = path[0] == '@';
  if (!abstract && prepare_socket_path(path, &addr, (socklen_t)len) != 0) return -1;

  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int rc = abstract
               ? bind(fd, (const struct sockaddr *)&addr, (socklen_t)len)
               : skbox_bind_socket_file(fd, (const struct sockaddr *)&addr, (socklen_t)len, path, mode, uid, gid, step);
  if (rc != 0) {
    int err = errno;
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}
