#include "endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/ip_endpoint.h"

void skbox_relay_endpoint_of(int fd, int remote, struct skbox_relay_endpoint *out) {
  struct skbox_ip_endpoint ep;
  out->is_ip = skbox_ip_endpoint_of(fd, remote, &ep) == 0;
  memcpy(out->addr, ep.addr, 16);
  out->port = ep.port;
}

int skbox_relay_address_format(const uint8_t addr[16], char *out, size_t size) {
  if (inet_ntop(AF_INET6, addr, out, (socklen_t)size)) return 0;
  if (size > 0) out[0] = '\0';
  return -1;
}

void skbox_relay_endpoint_format(const struct skbox_relay_endpoint *ep, char *out, size_t size) {
  char text[INET6_ADDRSTRLEN];
  skbox_relay_address_format(ep->addr, text, sizeof(text));
  snprintf(out, size, "[%s]:%u", text, (unsigned)ep->port);
}
