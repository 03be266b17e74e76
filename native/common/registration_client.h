/* The receiver's side of the registration protocol (docs/wire-protocol.md#registration): used by
 * socketbox-inetd-p and by `socketbox -P`. */
#ifndef SKBOX_COMMON_REGISTRATION_CLIENT_H
#define SKBOX_COMMON_REGISTRATION_CLIENT_H

#include <stdint.h>

/* Connects to the registration socket at path ('@' = abstract), asks for
 * group, and waits up to timeout_ms for the answer. Returns the registered
 * SOCK_SEQPACKET descriptor (close-on-exec, blocking), over which connections
 * then arrive; or -1 with *why saying what failed (errno set where it applies). */
int skbox_register(const char *path, uint32_t group, int timeout_ms, const char **why);

/* The same in listener mode (command 2, docs/fast-path.md): *listener is the
 * listening TCP socket the grant carried (close-on-exec), on which the kernel
 * fast path queues the slot's connections, or -1 when the server granted the
 * slot without one (no fast path): then, as always, connections that do not
 * take the fast path arrive over the returned registration descriptor. */
int skbox_register_listener(const char *path, uint32_t group, int timeout_ms, int *listener, const char **why);

#endif
