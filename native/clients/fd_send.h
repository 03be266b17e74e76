/* Sending descriptors the way socketbox does (docs/wire-protocol.md): payload "\0" plus SCM_RIGHTS. */
#ifndef SKC_FD_SEND_H
#define SKC_FD_SEND_H

/* At most this many descriptors per message (the kernel's own limit is 253). */
#define SKC_SEND_MAX_FDS 64

/* Sends one message carrying FDS[0..COUNT) (COUNT may be 0: a message without descriptors)
 * over SOCK, addressed to PATH when it is not NULL ('@name' = abstract). Never raises SIGPIPE.
 * With WAIT, a full receiver queue is waited out with poll(); without it, the call fails with
 * EAGAIN. Returns 0, or -1 with errno set. */
int skc_send_fds(int sock, const int *fds, unsigned count, const char *path, int wait);

#endif
