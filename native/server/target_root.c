#include "server/target_root.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

void skbox_proc_fd_name(int fd, char out[SKBOX_PROC_FD_NAME_MAX]) {
  snprintf(out, SKBOX_PROC_FD_NAME_MAX, "/proc/thread-self/fd/%d", fd);
}

int skbox_target_root_open(const char *dir, const char **why) {
  int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *why = "cannot open the directory";
    return -1;
  }
  char name[SKBOX_PROC_FD_NAME_MAX];
  skbox_proc_fd_name(fd, name);
  struct stat via_proc, direct;
  if (stat(name, &via_proc) < 0 || fstat(fd, &direct) < 0 || via_proc.st_dev != direct.st_dev ||
      via_proc.st_ino != direct.st_ino) {
    int e = errno;
    close(fd);
    errno = e ? e : ENOENT;
    *why =
        "cannot reach it again through /proc/thread-self/fd, which confined connects go through "
        "(mount /proc, inside the chroot under -x)";
    return -1;
  }
  return fd;
}

void skbox_target_root_init(skbox_target_root *r, int fd, const char *prefix, int allow_abstract) {
  size_t len = strlen(prefix);
  while (len > 0 && prefix[len - 1] == '/') len--; /* "/" becomes "": every absolute path is beneath it */
  if (len > SKBOX_UNIX_PATH_MAX) len = SKBOX_UNIX_PATH_MAX;
  memcpy(r->prefix, prefix, len);
  r->prefix[len] = 0;
  r->prefix_len = len;
  r->fd = fd;
  r->allow_abstract = allow_abstract;
}

int skbox_target_root_resolve(const skbox_target_root *r, const char *path) {
  const char *rel = path;
  if (path[0] == '/') {
    if (strncmp(path, r->prefix, r->prefix_len) != 0 || path[r->prefix_len] != '/') {
      errno = EXDEV;
      return -1;
    }
    rel = path + r->prefix_len;
    while (*rel == '/') rel++; /* openat2 would take what is left for an absolute path */
  }
  struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, r->fd, rel, &how, sizeof how);
  if (fd < 0) {
    if (errno != ENOENT) errno = EXDEV; /* escapes (EXDEV), loops, or no openat2: refuse */
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
    close(fd);
    errno = EXDEV;
    return -1;
  }
  return fd;
}
