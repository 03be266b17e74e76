#include "socket_endpoint.h"

#include <string.h>

#include "common/ip_endpoint.h"

int skbox_socket_endpoint(int fd, int remote, struct skbox_endpoint *out) {
  struct skbox_ip_endpoint ep;
  int rc = skbox_ip_endpoint_of(fd, remote, &ep);
  memcpy(out->address, ep.addr, 16);
  out->port = ep.port;
  out->ipv4 = ep.ipv4;
  return rc;
}
