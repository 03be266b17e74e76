/* Handing a connection over (the wire format of docs/wire-protocol.md, sent by
 * common/fd_send.h), and refusing a connection with a reset. */
#ifndef SKBOX_FDPASS_H
#define SKBOX_FDPASS_H

#include <stddef.h>

/* One non-blocking sendmsg carrying a 1-byte "\0" payload and fd_to_send.
 * Returns 0 or -1 with errno set (EAGAIN when the receiver's queue is full). */
int skbox_send_fd(int via_socket, int fd_to_send);

/* The same with another payload: registration slots get "03 00 00 00". */
int skbox_send_fd_with(int via_socket, int fd_to_send, const void *payload, size_t len);

/* The message of skbox_send_fd for each of fds[0..n) (n <= SKBOX_SEND_MAX_FDS), in one
 * sendmmsg: how many went (the first ones), or -1 with errno when not even the first did. */
int skbox_send_fd_burst(int via_socket, const int *fds, unsigned n);

/* Close a connection so that the client sees a reset, not an orderly end. */
void skbox_reset_close(int fd);

#endif
