/* Where connections come from: a datagram socket the relay binds (-s), or an inherited
 * descriptor (-l FD): a listening socket, or with -e a socket carrying descriptors. */
#ifndef SKBOX_RELAY_SOURCE_SOCKET_H
#define SKBOX_RELAY_SOURCE_SOCKET_H

#include "relay_config.h"

/* Binds a non-blocking, close-on-exec datagram socket at path ('@' = abstract), mode 0660
 * (the sender may run as another user of the group). A stale socket file is replaced; a
 * live socket or a file that is not a socket is refused (EADDRINUSE, ENOTSOCK). */
int skbox_relay_bind_receive_socket(const char *path);

/* Checks an inherited descriptor for kind and makes it ready: non-blocking, close-on-exec,
 * and listening when it is a bound stream socket not yet listening. Returns 0, or -1 with
 * errno and *why naming the failed step. */
int skbox_relay_prepare_source(int fd, enum skbox_relay_source_kind kind, const char **why);

#endif
