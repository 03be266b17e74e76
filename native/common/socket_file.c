#include "common/socket_file.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/thread_caps.h"

struct file_bind {
  int fd;
  const struct sockaddr *addr;
  socklen_t len;
  mode_t mode;
  long long uid, gid;
  int rc, err;
  const char *step;
};

/* setfsuid/setfsgid report the previous id, not failure: ask again with an invalid id to see what holds. */
static int take_fs_id(long number, long long id) {
  syscall(number, (unsigned)id);
  if ((long long)(unsigned)syscall(number, -1) == id) return 0;
  errno = EPERM;
  return -1;
}

/* Runs in a child sharing our memory and descriptors but with its own umask (no CLONE_FS) and
 * its own credentials (they are per task), which vanish when it exits. bind()
 * creates the file with the socket inode's mode less the umask, owned by the
 * file-system uid and gid. */
static int bind_in_child(void *arg) {
  struct file_bind *b = arg;
  umask(0);
  b->step = "set the socket's mode";
  if (fchmod(b->fd, b->mode) != 0) goto fail;
  b->step = "create the socket with its group";
  if (b->gid >= 0 && take_fs_id(SYS_setfsgid, b->gid) != 0) goto fail;
  b->step = "create the socket with its owner";
  /* Leaving fsuid 0 drops CAP_DAC_OVERRIDE and friends from the effective set:
   * take them back, so the directory is checked as before, by a root caller. */
  if (b->uid >= 0 && (take_fs_id(SYS_setfsuid, b->uid) != 0 || skbox_caps_raise_effective() != 0)) goto fail;
  b->step = "bind";
  if (bind(b->fd, b->addr, b->len) != 0) goto fail;
  b->rc = 0;
  return 0;
fail:
  b->err = errno;
  return 0;
}

/* The group a new file in path's directory gets from a set-group-ID directory, or -1. */
static long long directory_group(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
  if (n >= sizeof dir) return -1;
  memcpy(dir, slash == NULL ? "." : path, n);
  dir[n] = '\0';
  struct stat st;
  return stat(dir, &st) == 0 && (st.st_mode & S_ISGID) ? (long long)st.st_gid : -1;
}

int skbox_bind_socket_file(int fd, const struct sockaddr *addr, socklen_t len, const char *path, mode_t mode,
                           long long uid, long long gid, const char **step) {
  long long inherited = gid >= 0 ? directory_group(path) : -1;
  if (inherited >= 0) {
    if (gid != inherited) {
      *step = "create the socket with its group (its directory is set-group-ID and gives its own group)";
      errno = EPERM;
      return -1;
    }
    gid = -1; /* the directory gives it */
  }
  struct file_bind b = {
      .fd = fd, .addr = addr, .len = len, .mode = mode, .uid = uid, .gid = gid, .rc = -1, .err = EIO, .step = "bind"};
  size_t stack_size = 64 * 1024;
  char *stack = malloc(stack_size);
  if (!stack) {
    *step = "bind";
    return -1;
  }
  /* CLONE_VFORK: we resume once the child is gone; exit signal 0, so no SIGCHLD for Node to see. */
  pid_t pid = clone(bind_in_child, stack + stack_size, CLONE_VM | CLONE_FILES | CLONE_VFORK, &b);
  int clone_err = errno;
  if (pid > 0)
    while (waitpid(pid, NULL, __WCLONE) < 0 && errno == EINTR) {
    }
  free(stack);
  *step = b.step;
  if (pid < 0) {
    *step = "clone";
    errno = clone_err;
    return -1;
  }
  if (b.rc != 0) {
    errno = b.err;
    return -1;
  }
  return 0;
}
