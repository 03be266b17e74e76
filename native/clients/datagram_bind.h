/* Creating the datagram socket a receiver listens on (socketbox-inetd SOCKET). */
#ifndef SKC_DATAGRAM_BIND_H
#define SKC_DATAGRAM_BIND_H

#include <sys/types.h>

/* Binds a new AF_UNIX SOCK_DGRAM socket (close-on-exec, non-blocking) at PATH and gives the
 * socket file MODE. '@name' binds an abstract name (no file, MODE unused).
 * A socket file left behind by a receiver that is gone (nobody bound: ECONNREFUSED) is removed
 * first; a live socket there fails with EADDRINUSE, and anything that is not a socket with
 * ENOTSOCK, so a typo never deletes a user's file.
 * Returns the descriptor, or -1 with errno set. */
int skc_bind_datagram_socket(const char *path, mode_t mode);

/* An unbound AF_UNIX SOCK_DGRAM socket (close-on-exec), for senders. -1 with errno on failure. */
int skc_open_datagram_socket(void);

#endif
