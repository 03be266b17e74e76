/* One end of an IP socket in the form everything here routes, matches and
 * prints by: a 16-byte IPv6 address (IPv4 as ::ffff:a.b.c.d) and a port. */
#ifndef SKBOX_COMMON_IP_ENDPOINT_H
#define SKBOX_COMMON_IP_ENDPOINT_H

#include <stdint.h>
#include <sys/socket.h>

struct skbox_ip_endpoint {
  uint8_t addr[16];
  uint16_t port; /* host byte order */
  int ipv4;      /* the address was AF_INET, now shown IPv4-mapped */
};

/* From a socket address: 0, or -1 when it is neither AF_INET6 nor AF_INET
 * (*out is then all zero). */
int skbox_ip_endpoint_from(const struct sockaddr_storage *ss, struct skbox_ip_endpoint *out);

/* The local (remote = 0, getsockname) or peer (getpeername) end of fd: 0, or
 * -1 with errno set (EAFNOSUPPORT when fd is not an IP socket); *out is zero then. */
int skbox_ip_endpoint_of(int fd, int remote, struct skbox_ip_endpoint *out);

#endif
