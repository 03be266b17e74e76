/* Receiving one connection descriptor from a socketbox sender (docs/wire-protocol.md). */
#ifndef SKBOX_COMMON_FD_RECEIVE_H
#define SKBOX_COMMON_FD_RECEIVE_H

/* Room for this many descriptors in one message: enough to see and close the extras a
 * misbehaving sender adds. Beyond it the kernel drops them itself and sets MSG_CTRUNC. */
#define SKBOX_FD_RECEIVE_MAX_FDS 16
/* Payload bytes read per message; longer datagram payloads are cut by the kernel. */
#define SKBOX_RECEIVE_PAYLOAD_MAX 128

enum skbox_receive_status {
  SKBOX_RECEIVE_FD = 0,    /* a message arrived and .fd holds its valid descriptor */
  SKBOX_RECEIVE_NO_FD = 1, /* a message arrived but carried nothing usable (all closed) */
  SKBOX_RECEIVE_AGAIN = 2, /* nothing to read right now */
  SKBOX_RECEIVE_END = 3,   /* stream / seqpacket peer closed: no more messages */
  SKBOX_RECEIVE_ERROR = -1 /* errno tells */
};

struct skbox_received {
  int fd;                /* close-on-exec descriptor, or -1 */
  unsigned extra_closed; /* descriptors beyond the first (any cmsg) that were closed */
  int rejected;          /* the first descriptor failed validation and was closed */
  int truncated;         /* MSG_CTRUNC: the kernel dropped descriptors that did not fit */
};

/* One recvmsg on SOCK (never blocks: MSG_DONTWAIT, so the socket's own flags, which may be
 * shared with other processes, are left alone). Keeps the first descriptor of the first
 * SCM_RIGHTS message if it passes LEVEL (see received_fds.h), closes every other one.
 * When WAIT is set, waits with poll() instead of returning SKBOX_RECEIVE_AGAIN. */
enum skbox_receive_status skbox_receive_fd(int sock, int level, int wait, struct skbox_received *out);

#endif
