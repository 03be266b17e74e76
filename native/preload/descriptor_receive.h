/* accept() on a socketbox receiving socket: the next connection descriptor sent to it. */
#ifndef SKBOX_PRELOAD_DESCRIPTOR_RECEIVE_H
#define SKBOX_PRELOAD_DESCRIPTOR_RECEIVE_H

/* Descriptors seen per message; more are dropped (closed) by the kernel itself. */
#define SKBOX_RECEIVE_MAX_FDS 16

/* Receives messages on SOCK until one carries a descriptor that passes STRICT_MODE
 * (SKBOX_STRICT_STREAM_MODE: 0 anything, 1 SOCK_STREAM, 2 also UNIX/INET/INET6); every other
 * descriptor, and messages without one, are closed and skipped. Blocks or not as SOCK does
 * (a non-blocking SOCK with nothing valid queued fails with EAGAIN). The result is
 * close-on-exec. Returns it, or -1 with errno (EINVAL when a stream peer has closed).
 * Uses only the stack: safe in any thread, no allocation. */
int skbox_receive_connection(int sock, int strict_mode);

#endif
