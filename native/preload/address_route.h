/* The decision bind() and connect() share: what skbox_classify_address (magic_address.h)
 * says about an address sends the call to the real function, to the link-local rewrite, or,
 * for a TCP socket, to a socketbox target. */
#ifndef SKBOX_PRELOAD_ADDRESS_ROUTE_H
#define SKBOX_PRELOAD_ADDRESS_ROUTE_H

#include <sys/socket.h>

#include "magic_address.h"
#include "preload_config.h"

/* Takes FD to TARGET in place of the real call; returns 0, or -1 with errno. */
typedef int (*skbox_target_call)(int fd, const struct sockaddr *addr, socklen_t len,
                                 const struct skbox_socketbox_target *target, const struct skbox_preload_config *config);

/* bind() (USE = SKBOX_USE_BIND) or connect() (SKBOX_USE_CONNECT, looked at only with
 * SKBOX_ENABLE_CONNECT): ordinary addresses, and socketbox addresses on sockets that are not
 * TCP, go to the real call untouched; link-local ones to the real call with the rewritten
 * address; socketbox ones on a TCP socket to TO_TARGET. errno is left as it was unless the
 * call fails. */
int skbox_route_address_call(int fd, const struct sockaddr *addr, socklen_t len, enum skbox_address_use use,
                             skbox_target_call to_target);

#endif
