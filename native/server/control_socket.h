/* The control socket (--control PATH, docs/control.md): a UNIX stream socket whose file
 * is created owned by the identity socketbox runs as after the privilege drop, mode
 * 0600, in one step (common/socket_file.h), and removed again at exit. */
#ifndef SKBOX_CONTROL_SOCKET_H
#define SKBOX_CONTROL_SOCKET_H

#include <sys/types.h>

struct skbox_control_socket {
  int fd;     /* listening, non-blocking, close-on-exec */
  int dir_fd; /* O_PATH of the file's directory: removal works after chroot too */
  char name[108];
  dev_t dev; /* the socket file, so that removal leaves a file put there by someone else */
  ino_t ino;
};

/* Refuses (EPERM, *why saying so) a directory that is not owned by root or by uid, or that
 * its group or others may write: whoever can write it could put another socket in the
 * file's place. Then binds and listens. uid / gid -1: the caller's. Returns 0, or -1 with
 * errno set and *why naming the failing step. */
int skbox_control_socket_open(const char *path, long long uid, long long gid, int backlog,
                              struct skbox_control_socket *out, const char **why);

/* Removes the socket file if it is still the one we created, and closes dir_fd (fd is its
 * owner's to close). Returns 0, or -1 with errno set (the file then stays; the next start
 * replaces it as stale). */
int skbox_control_socket_remove(struct skbox_control_socket *s);

#endif
