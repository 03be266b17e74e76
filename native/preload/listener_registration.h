/* Listener mode (docs/fast-path.md): a bind to fe8f::4:0:B registers for slot B at
 * $SKBOX_REGISTRATION_SOCKET. When socketbox's grant carries the slot's listening socket,
 * it takes the daemon's descriptor number, so the daemon's own accept() takes the
 * connections the kernel fast path queues there; the registration connection stays open
 * behind it (it must, or socketbox ends the registration) and what socketbox sends over it
 * (connections that did not take the fast path) is handed out by accept() first. Without a
 * fast path the registration connection itself takes the descriptor number and accept()
 * receives every connection over it. */
#ifndef SKBOX_PRELOAD_LISTENER_REGISTRATION_H
#define SKBOX_PRELOAD_LISTENER_REGISTRATION_H

#include <stdint.h>
#include <sys/socket.h>

/* Registers and puts the result in place of FD (keeping its O_NONBLOCK and close-on-exec
 * flags); ADDR is what the daemon bound, which getsockname then reports. Returns 0, or -1
 * with errno (FD unchanged). */
int skbox_listener_bind(int fd, uint16_t slot, const char *registration_socket, const struct sockaddr *addr,
                        socklen_t len);

/* getsockname() for FD as registered above: the address the daemon bound. Returns 0, or -1
 * when FD is not one of them. */
int skbox_listener_bound_address(int fd, struct sockaddr *addr, socklen_t *len);

/* For FD as registered above: its registration connection (non-blocking), FD itself when
 * there is no fast-path listener, or -1 when FD is not one of them. */
int skbox_listener_registration(int fd);

#endif
