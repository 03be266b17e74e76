#include "source_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/unix_address.h"

/* 1 when nobody receives on the socket file any more, 0 when someone does, -1 on error. */
static int socket_file_is_stale(const struct sockaddr_un *addr, socklen_t len) {
  int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return -1;
  int rc = connect(probe, (const struct sockaddr *)addr, len);
  int err = errno;
  close(probe);
  if (rc == 0) return 0;
  if (err == ECONNREFUSED) return 1;
  if (err == EPROTOTYPE) return 0; /* live, of another socket type */
  errno = err;
  return -1;
}

static int clear_socket_path(const char *path, const struct sockaddr_un *addr, socklen_t len) {
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
  return unlink(path) != 0 && errno != ENOENT ? -1 : 0;
}

int rly_bind_receive_socket(const char *path) {
  struct sockaddr_un addr;
  int len = skbox_unix_address(path, &addr);
  if (len < 0) return -1;
  int abstract = path[0] == '@';
  if (!abstract && clear_socket_path(path, &addr, (socklen_t)len) != 0) return -1;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  /* Owner-only while binding, then widened: never more open than 0660 whatever the umask. */
  mode_t old_mask = abstract ? 0 : umask(0177);
  int rc = bind(fd, (const struct sockaddr *)&addr, (socklen_t)len);
  int err = errno;
  if (!abstract) umask(old_mask);
  if (rc == 0 && !abstract && chmod(path, 0660) != 0) {
    err = errno;
    unlink(path);
    rc = -1;
  }
  if (rc != 0) {
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

static int int_option(int fd, int option, int *value) {
  socklen_t len = sizeof(*value);
  return getsockopt(fd, SOL_SOCKET, option, value, &len);
}

int rly_prepare_source(int fd, enum rly_source_kind kind, const char **why) {
  int type = 0, listening = 0, domain = 0;
  *why = "not a socket";
  if (int_option(fd, SO_TYPE, &type) != 0) return -1;
  if (kind == RLY_SOURCE_LISTEN) {
    *why = "not a stream socket";
    if (type != SOCK_STREAM) {
      errno = EINVAL;
      return -1;
    }
    *why = "listen";
    if (int_option(fd, SO_ACCEPTCONN, &listening) != 0) return -1;
    /* Already listening: keep the backlog its owner chose. */
    if (!listening && listen(fd, SOMAXCONN) != 0) return -1;
  } else {
    *why = "not a UNIX socket";
    if (int_option(fd, SO_DOMAIN, &domain) != 0) return -1;
    if (domain != AF_UNIX) {
      errno = EINVAL;
      return -1;
    }
  }
  *why = "fcntl";
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) return -1;
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return -1;
  return 0;
}
