#include "server/control_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/datagram_bind.h"

#define CONTROL_SOCKET_MODE 0600

/* Splits path into its directory (opened O_PATH) and its last component. */
static int open_directory(const char *path, struct skbox_control_socket *out, const char **why) {
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  *why = "the control socket's path";
  if (name[0] == '\0' || strlen(name) >= sizeof out->name) {
    errno = EINVAL;
    return -1;
  }
  strcpy(out->name, name);
  char dir[4096];
  size_t n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
  if (n >= sizeof dir) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(dir, n == 0 ? "." : path, n == 0 ? 1 : n);
  dir[n == 0 ? 1 : n] = '\0';
  *why = "open the control socket's directory";
  out->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return out->dir_fd < 0 ? -1 : 0;
}

static int check_directory(int dir_fd, long long uid, const char **why) {
  struct stat st;
  *why = "stat the control socket's directory";
  if (fstat(dir_fd, &st) != 0) return -1;
  uid_t self = uid >= 0 ? (uid_t)uid : geteuid();
  if (st.st_uid != 0 && st.st_uid != self) {
    *why = "the control socket's directory must be owned by root or the user socketbox runs as";
    errno = EPERM;
    return -1;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    *why = "the control socket's directory must not be writable by its group or others";
    errno = EPERM;
    return -1;
  }
  return 0;
}

int skbox_control_socket_open(const char *path, long long uid, long long gid, int backlog,
                              struct skbox_control_socket *out, const char **why) {
  out->fd = out->dir_fd = -1;
  if (open_directory(path, out, why) != 0 || check_directory(out->dir_fd, uid, why) != 0) goto fail;
  out->fd = skbox_bind_unix_socket(path, SOCK_STREAM, CONTROL_SOCKET_MODE, uid, gid, why);
  if (out->fd < 0) goto fail;
  struct stat st;
  *why = "stat the control socket";
  if (fstatat(out->dir_fd, out->name, &st, AT_SYMLINK_NOFOLLOW) != 0) goto fail;
  out->dev = st.st_dev;
  out->ino = st.st_ino;
  *why = "listen";
  if (listen(out->fd, backlog) != 0) goto fail;
  return 0;
fail:;
  int err = errno;
  if (out->fd >= 0) {
    unlinkat(out->dir_fd, out->name, 0);
    close(out->fd);
  }
  if (out->dir_fd >= 0) close(out->dir_fd);
  out->fd = out->dir_fd = -1;
  errno = err;
  return -1;
}

int skbox_control_socket_remove(struct skbox_control_socket *s) {
  int rc = 0;
  struct stat st;
  if (s->dir_fd >= 0 && fstatat(s->dir_fd, s->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == s->dev &&
      st.st_ino == s->ino)
    rc = unlinkat(s->dir_fd, s->name, 0);
  int err = errno;
  if (s->dir_fd >= 0) close(s->dir_fd);
  s->dir_fd = -1;
  errno = err;
  return rc;
}
