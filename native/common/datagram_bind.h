/* Binding the UNIX sockets a receiver gets connections on (inetd, relay -s) and
 * the registration sockets of the JSON server. */
#ifndef SKBOX_COMMON_DATAGRAM_BIND_H
#define SKBOX_COMMON_DATAGRAM_BIND_H

#include <sys/types.h>

/* Binds a new AF_UNIX SOCK_DGRAM socket (close-on-exec, non-blocking) at PATH, its socket file
 * created with exactly MODE (common/socket_file.h: never changed by path afterwards).
 * '@name' binds an abstract name (no file, MODE unused).
 * A socket file left behind by a receiver that is gone (nobody bound: ECONNREFUSED) is removed
 * first; a live socket there fails with EADDRINUSE, and anything that is not a socket with
 * ENOTSOCK, so a typo never deletes a user's file.
 * Returns the descriptor, or -1 with errno set. */
int skbox_bind_datagram_socket(const char *path, mode_t mode);

/* The same for another socket type (SOCK_SEQPACKET for registration sockets), the file owned by
 * uid / gid when >= 0; on failure *step names the step that failed. */
int skbox_bind_unix_socket(const char *path, int type, mode_t mode, long long uid, long long gid, const char **step);

#endif
