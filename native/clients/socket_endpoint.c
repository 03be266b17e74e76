#include "socket_endpoint.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int skc_socket_endpoint(int fd, int remote, struct skc_endpoint *out) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  memset(&ss, 0, sizeof(ss));
  memset(out, 0, sizeof(*out));
  int rc = remote ? getpeername(fd, (struct sockaddr *)&ss, &len)
                  : getsockname(fd, (struct sockaddr *)&ss, &len);
  if (rc != 0) return -1;
  if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    memcpy(out->address, &a->sin6_addr, 16);
    out->port = ntohs(a->sin6_port);
    return 0;
  }
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    out->address[10] = 0xff;
    out->address[11] = 0xff;
    memcpy(out->address + 12, &a->sin_addr, 4);
    out->port = ntohs(a->sin_port);
    out->ipv4 = 1;
    return 0;
  }
  errno = EAFNOSUPPORT;
  return -1;
}
