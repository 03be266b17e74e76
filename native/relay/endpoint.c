#include "endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void rly_endpoint_of(int fd, int remote, struct rly_endpoint *out) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  memset(out, 0, sizeof(*out));
  memset(&ss, 0, sizeof(ss));
  int rc = remote ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);
  if (rc != 0) return;
  if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
    memcpy(out->addr, &s6->sin6_addr, 16);
    out->port = ntohs(s6->sin6_port);
    out->is_ip = 1;
  } else if (ss.ss_family == AF_INET) {
    /* Shown the way a dual-stack IPv6 socket would show it. */
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
    out->addr[10] = 0xff;
    out->addr[11] = 0xff;
    memcpy(out->addr + 12, &s4->sin_addr, 4);
    out->port = ntohs(s4->sin_port);
    out->is_ip = 1;
  }
}

void rly_address_format(const uint8_t addr[16], char *out, size_t size) {
  if (!inet_ntop(AF_INET6, addr, out, (socklen_t)size) && size > 0) out[0] = '\0';
}

void rly_endpoint_format(const struct rly_endpoint *ep, char *out, size_t size) {
  char text[INET6_ADDRSTRLEN];
  rly_address_format(ep->addr, text, sizeof(text));
  snprintf(out, size, "[%s]:%u", text, (unsigned)ep->port);
}
