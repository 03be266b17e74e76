/* Opening the connection to the backend for one client: the destination comes from the
 * configuration, in NAT64 mode from the local address the client dialled. The connect is
 * non-blocking; the loop waits for it with a deadline. */
#ifndef SKBOX_RELAY_BACKEND_CONNECT_H
#define SKBOX_RELAY_BACKEND_CONNECT_H

#include "endpoint.h"
#include "relay_config.h"

enum skbox_relay_backend_result {
  SKBOX_RELAY_BACKEND_CONNECTED,      /* *fd is connected */
  SKBOX_RELAY_BACKEND_IN_PROGRESS,    /* *fd is connecting: wait for it to become writable */
  SKBOX_RELAY_BACKEND_OUTSIDE_PREFIX, /* NAT64: the local address is not in the prefix: refuse */
  SKBOX_RELAY_BACKEND_FAILED,         /* errno says why */
};

enum skbox_relay_backend_result skbox_relay_backend_connect(const struct skbox_relay_config *cfg,
                                                            const struct skbox_relay_endpoint *local, int *fd);

/* 0 when TCP congestion control name exists and may be set here, else -1 with errno
 * (ENOENT: not available, EPERM: not allowed for this user). */
int skbox_relay_backend_congestion_usable(const char *name);

/* After the socket became writable: 0 when connected, else the connect error. */
int skbox_relay_backend_connect_error(int fd);

#endif
