/* PROXY protocol headers a backend reads before the client's bytes, naming the client
 * (source) and the address it dialled (destination). Both versions use IPv6 addresses, as
 * the relay sees them: IPv4 clients appear IPv4-mapped. A client that is not an IP socket
 * gets "PROXY UNKNOWN" (v1) or a LOCAL command (v2): the backend learns nothing false. */
#ifndef SKBOX_RELAY_PROXY_HEADER_H
#define SKBOX_RELAY_PROXY_HEADER_H

#include <stddef.h>

#include "endpoint.h"
#include "relay_config.h"

#define SKBOX_RELAY_PROXY_HEADER_MAX 108 /* the v1 maximum; v2 with IPv6 needs 52 */

/* Writes the header for kind into out (SKBOX_RELAY_PROXY_HEADER_MAX bytes); returns its length,
 * 0 for SKBOX_RELAY_PROXY_NONE, or -1 when the header does not fit whole: a cut header (or none)
 * would make the backend misread the client, so the caller must refuse the connection. */
int skbox_relay_proxy_header(enum skbox_relay_proxy_header kind, const struct skbox_relay_endpoint *client,
                             const struct skbox_relay_endpoint *local, unsigned char *out);

#endif
