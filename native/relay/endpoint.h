/* One end of a connection as 16 bytes of IPv6 address and a port: IPv4 sockets appear as
 * IPv4-mapped addresses, sockets of other families (UNIX) as [::]:0. */
#ifndef RLY_ENDPOINT_H
#define RLY_ENDPOINT_H

#include <stddef.h>
#include <stdint.h>

#define RLY_ENDPOINT_TEXT_MAX 56 /* "[" + INET6_ADDRSTRLEN + "]:65535" */

struct rly_endpoint {
  uint8_t addr[16];
  uint16_t port; /* host order */
  int is_ip;     /* 0 when the socket is not an IP socket */
};

/* remote = 0: getsockname, 1: getpeername. Never fails: unknown ends are [::]:0. */
void rly_endpoint_of(int fd, int remote, struct rly_endpoint *out);

/* "[addr]:port" with the address as inet_ntop writes it. */
void rly_endpoint_format(const struct rly_endpoint *ep, char *out, size_t size);

/* The address alone, as inet_ntop writes it; 0, or -1 (out empty) when it does not fit. */
int rly_address_format(const uint8_t addr[16], char *out, size_t size);

#endif
