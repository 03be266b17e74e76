#include "address_protection.h"

#include <limits.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "socket_kind.h"

/* The most the kernel writes for an address of FD's family; 0 for anything else. */
static socklen_t largest_address(int fd) {
  switch (skbox_socket_domain(fd)) {
    case AF_INET: return sizeof(struct sockaddr_in);
    case AF_INET6: return sizeof(struct sockaddr_in6);
    case AF_UNIX: return sizeof(struct sockaddr_un);
    default: return 0;
  }
}

void skbox_protect_address_buffer(int fd, struct sockaddr *addr, const socklen_t *len, int level) {
  if (level <= 0 || addr == NULL || len == NULL) return;
  socklen_t size = *len;
  if (size == 0 || size > INT_MAX) return;
  if (level < 2 && size != sizeof(struct sockaddr_in) && size != sizeof(struct sockaddr_in6)) return;
  socklen_t room = largest_address(fd);
  memset(addr, 0, size < room ? size : room);
}

void skbox_report_loopback_peer(struct sockaddr *addr, socklen_t *len) {
  struct sockaddr_in6 loopback;
  memset(&loopback, 0, sizeof(loopback));
  loopback.sin6_family = AF_INET6;
  loopback.sin6_addr = in6addr_loopback;
  socklen_t room = *len;
  memcpy(addr, &loopback, room < sizeof(loopback) ? room : sizeof(loopback));
  *len = sizeof(loopback);
}
