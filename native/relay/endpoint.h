/* One end of a connection as 16 bytes of IPv6 address and a port: IPv4 sockets appear as
 * IPv4-mapped addresses, sockets of other families (UNIX) as [::]:0. */
#ifndef SKBOX_RELAY_ENDPOINT_H
#define SKBOX_RELAY_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#define SKBOX_RELAY_ENDPOINT_TEXT_MAX 56 /* "[" + INET6_ADDRSTRLEN + "]:65535" */

struct skbox_relay_endpoint {
  uint8_t addr[16];
  uint16_t port; /* host order */
  int is_ip;     /* 0 when the socket is not an IP socket */
};

/* remote = 0: getsockname, 1: getpeername. Never fails: unknown ends are [::]:0. */
void skbox_relay_endpoint_of(int fd, int remote, struct skbox_relay_endpoint *out);

/* "[addr]:port" with the address as inet_ntop writes it. */
void skbox_relay_endpoint_format(const struct skbox_relay_endpoint *ep, char *out, size_t size);

/* The address alone, as inet_ntop writes it; 0, or -1 (out empty) when it does not fit. */
int skbox_relay_address_format(const uint8_t addr[16], char *out, size_t size);

#endif
