#include "common/ip_endpoint.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

int skbox_ip_endpoint_from(const struct sockaddr_storage *ss, struct skbox_ip_endpoint *out) {
  memset(out, 0, sizeof *out);
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    memcpy(out->addr, &s6->sin6_addr, 16);
    out->port = ntohs(s6->sin6_port);
    return 0;
  }
  if (ss->ss_family == AF_INET) {
    /* Shown the way a dual-stack IPv6 socket would show it. */
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
    out->addr[10] = out->addr[11] = 0xff;
    memcpy(out->addr + 12, &s4->sin_addr, 4);
    out->port = ntohs(s4->sin_port);
    out->ipv4 = 1;
    return 0;
  }
  return -1;
}

int skbox_ip_endpoint_of(int fd, int remote, struct skbox_ip_endpoint *out) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  int rc = remote ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);
  if (rc != 0) {
    memset(out, 0, sizeof *out);
    return -1;
  }
  if (skbox_ip_endpoint_from(&ss, out) != 0) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  return 0;
}
