/* Creating a UNIX socket's file with its final mode and owner in one step. */
#ifndef SKBOX_SOCKET_FILE_H
#define SKBOX_SOCKET_FILE_H

#include <sys/socket.h>
#include <sys/types.h>

/* Binds fd to the filesystem address addr so that the socket file is created
 * with exactly mode (whatever the umask) and, when uid / gid are >= 0, owned by
 * them. Nothing is changed by path afterwards: no chmod or chown a writer of
 * the directory could redirect to another file through a symlink. Other
 * threads' umask and credentials are untouched.
 * In a set-group-ID directory the file takes the directory's group, as every
 * new file does: a different gid is then refused (EPERM, *step says why).
 * Returns 0, or -1 with errno set and *step naming what failed. */
int skbox_bind_socket_file(int fd, const struct sockaddr *addr, socklen_t len, const char *path, mode_t mode,
                           long long uid, long long gid, const char **step);

#endif
