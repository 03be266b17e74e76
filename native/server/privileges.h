/* The privilege sequence of docs/startup.md: chroot, groups, gid, uid, no_new_privs,
 * and exec for -e. Each returns 0 or -1 with errno set. */
#ifndef SKBOX_PRIVILEGES_H
#define SKBOX_PRIVILEGES_H

#include <sys/types.h>

int skbox_enter_chroot(const char *dir);
int skbox_set_groups(const gid_t *groups, int n);
int skbox_set_gid(gid_t gid);
int skbox_set_uid(uid_t uid);
/* Sets no_new_privs on every thread of the process, not just the caller. */
int skbox_no_new_privs(void);

/* Makes keep_fd inheritable and blocking, sets SKBOX_LISTEN_FD to it, then
 * execvp(argv[0], argv). Returns only on failure. */
int skbox_exec_with_fd(int keep_fd, char *const argv[]);

#endif
