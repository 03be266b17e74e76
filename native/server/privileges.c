#include "server/privileges.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int skbox_enter_chroot(const char *dir) {
  if (chroot(dir) < 0) return -1;
  return chdir("/");
}

/* glibc applies setgroups/setgid/setuid to every thread of the process (the
 * setxid broadcast), so Node's helper threads lose the privileges too. */
int skbox_set_groups(const gid_t *groups, int n) {
  return setgroups((size_t)n, groups);
}

int skbox_set_gid(gid_t gid) {
  if (setresgid(gid, gid, gid) < 0) return -1;
  gid_t r, e, s;
  return getresgid(&r, &e, &s) == 0 && r == gid && e == gid && s == gid ? 0 : -1;
}

int skbox_set_uid(uid_t uid) {
  if (setresuid(uid, uid, uid) < 0) return -1;
  uid_t r, e, s;
  return getresuid(&r, &e, &s) == 0 && r == uid && e == uid && s == uid ? 0 : -1;
}

/* PR_SET_NO_NEW_PRIVS only marks the calling thread, and Node already runs
 * helper threads. Installing an allow-everything seccomp filter with TSYNC
 * makes the kernel copy the flag to every other thread of the process. */
int skbox_no_new_privs(void) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
  struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog prog = {.len = 1, .filter = &allow};
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
  if (r > 0) errno = EBUSY; /* a thread with an incompatible filter: r is its id */
  return r == 0 ? 0 : -1;
}

int skbox_exec_with_fd(int keep_fd, char *const argv[]) {
  int flags = fcntl(keep_fd, F_GETFD);
  if (flags < 0 || fcntl(keep_fd, F_SETFD, flags & ~FD_CLOEXEC) < 0) return -1;
  /* The program gets an ordinary blocking socket, as the original gives it. */
  int status = fcntl(keep_fd, F_GETFL);
  if (status < 0 || fcntl(keep_fd, F_SETFL, status & ~O_NONBLOCK) < 0) return -1;
  char num[16];
  snprintf(num, sizeof num, "%d", keep_fd);
  if (setenv("SKBOX_LISTEN_FD", num, 1) < 0) return -1;
  execvp(argv[0], argv);
  return -1;
}
