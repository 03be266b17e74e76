/* The addresses of a connected IP socket (socket-query). */
#ifndef SKBOX_SOCKET_ENDPOINT_H
#define SKBOX_SOCKET_ENDPOINT_H

#include <stdint.h>

struct skbox_endpoint {
  uint8_t address[16]; /* IPv6; an IPv4 socket's address appears IPv4-mapped (::ffff:a.b.c.d) */
  uint16_t port;       /* host byte order */
  int ipv4;            /* the socket itself is AF_INET */
};

/* The local (REMOTE = 0, getsockname) or remote (getpeername) end of FD.
 * Returns 0, or -1 with errno set; EAFNOSUPPORT when FD is not an IPv4/IPv6 socket. */
int skbox_socket_endpoint(int fd, int remote, struct skbox_endpoint *out);

#endif
