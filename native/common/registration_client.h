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

#endif
