/* The client programs' sends (send-receive-fd -s, the tests' senders): the hand-off message of
 * docs/wire-protocol.md, payload "\0" plus SCM_RIGHTS, sent by common/fd_send.h. */
#ifndef SKBOX_SEND_WAITING_H
#define SKBOX_SEND_WAITING_H

/* Sends one message carrying FDS[0..COUNT) (COUNT may be 0: a message without descriptors; at
 * most SKBOX_SEND_MAX_FDS) over SOCK, addressed to PATH when it is not NULL ('@name' =
 * abstract). Never raises SIGPIPE. With WAIT, a full receiver queue is waited out with poll();
 * without it, the call fails with EAGAIN. Returns 0, or -1 with errno set. */
int skbox_send_fds_waiting(int sock, const int *fds, unsigned count, const char *path, int wait);

#endif
