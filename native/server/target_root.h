/* --target-root: a UNIX target path is opened beneath the root directory
 * (openat2 RESOLVE_BENEATH, O_PATH) and then connected to through
 * /proc/thread-self/fd/N of that very descriptor, so the socket connected to
 * is the inode that was checked, whatever is renamed over the path meanwhile. */
#ifndef SKBOX_TARGET_ROOT_H
#define SKBOX_TARGET_ROOT_H

#include <stddef.h>

#include "server/table.h"

/* "/proc/thread-self/fd/" and a descriptor number, with its NUL. */
#define SKBOX_PROC_FD_NAME_MAX 40

typedef struct {
  int fd;                               /* O_PATH descriptor of the directory; -1: no confinement */
  int allow_abstract;                   /* abstract names are not files: refused unless allowed */
  char prefix[SKBOX_UNIX_PATH_MAX + 1]; /* the directory's absolute name, no trailing '/' ("" for /) */
  size_t prefix_len;
} skbox_target_root;

/* Start-up: opens dir (O_PATH) and checks that /proc/thread-self/fd/N names
 * that very directory, since every confined connect goes through it. Returns
 * the descriptor, or -1 with *why (and errno) saying what failed. */
int skbox_target_root_open(const char *dir, const char **why);

/* Fills r; prefix is the absolute name dir was opened by (trailing '/' dropped). */
void skbox_target_root_init(skbox_target_root *r, int fd, const char *prefix, int allow_abstract);

/* The socket at path, opened O_PATH beneath the root: a relative path from
 * the root, an absolute one only if it starts with the root's name. Returns
 * the descriptor, or -1 with errno ENOENT (nothing there) or EXDEV (it
 * leaves the root, goes through a magic link, or is not a socket). */
int skbox_target_root_resolve(const skbox_target_root *r, const char *path);

/* The name a descriptor's file can be reached by: /proc/thread-self/fd/N. */
void skbox_proc_fd_name(int fd, char out[SKBOX_PROC_FD_NAME_MAX]);

#endif
