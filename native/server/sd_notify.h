/* The transport of sd_notify(3): datagrams to the service manager's socket
 * named by NOTIFY_SOCKET, a path or an abstract name ('@' first). */
#ifndef SKBOX_SD_NOTIFY_H
#define SKBOX_SD_NOTIFY_H

#include <stddef.h>

/* A non-blocking, close-on-exec datagram socket connected to address.
 * Connecting once, early, keeps notifications working after chroot (-x)
 * and a change of user. Returns the descriptor, or -1 with errno set and
 * *step naming the call that failed. */
int skbox_notify_connect(const char *address, const char **step);

/* Sends one datagram. If the manager's queue is full, waits up to
 * timeout_ms for room (READY=1 must not be lost). Returns 0 or -1 with errno. */
int skbox_notify_send(int fd, const char *message, size_t len, int timeout_ms);

#endif
