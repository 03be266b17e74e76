/* Sending descriptors the way socketbox does (docs/wire-protocol.md), for every sender: the
 * accept loop's hand-off (server/fdpass.h), the registration grants (fastpath/listener_grant.c,
 * server/registrar.c), the registration request (common/registration_client.c), the preload
 * library's faked datagram connect, and the client programs (clients/send_waiting.h). */
#ifndef SKBOX_COMMON_FD_SEND_H
#define SKBOX_COMMON_FD_SEND_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* At most this many descriptors per message (the kernel's own limit is 253). */
#define SKBOX_SEND_MAX_FDS 64

/* One sendmsg on SOCK: PAYLOAD[0..LENGTH) and, when N_FDS > 0, one SCM_RIGHTS header carrying
 * FDS[0..N_FDS); addressed to TO (TO_LENGTH bytes) when TO is not NULL, else to SOCK's peer.
 * FLAGS go to sendmsg as they are. Returns what sendmsg returned (-1 with errno; EINVAL when
 * N_FDS exceeds SKBOX_SEND_MAX_FDS). */
ssize_t skbox_send_fds(int sock, const struct sockaddr_un *to, socklen_t to_length, const void *payload, size_t length,
                       const int *fds, unsigned n_fds, int flags);

/* One sendmmsg on SOCK's peer: message i is PAYLOAD[0..LENGTH) with FDS[i] in its SCM_RIGHTS
 * header, for i in [0, N_FDS), N_FDS <= SKBOX_SEND_MAX_FDS. The messages are exactly those
 * skbox_send_fds would send one by one. Returns how many were sent (the first ones, in order),
 * or -1 with errno when the first could not be. */
int skbox_send_fd_each(int sock, const void *payload, size_t length, const int *fds, unsigned n_fds, int flags);

/* An unbound AF_UNIX SOCK_DGRAM socket (close-on-exec) to send from. -1 with errno on failure. */
int skbox_open_datagram_sender(void);

#endif
