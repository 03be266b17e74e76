#include "address_protection.h"

#include <netinet/in.h>
#include <string.h>

void skbox_protect_address_buffer(struct sockaddr *addr, const socklen_t *len, int level) {
  if (level <= 0 || addr == NULL || len == NULL) return;
  socklen_t size = *len;
  if (size == 0) return;
  if (level >= 2 || size == sizeof(struct sockaddr_in) || size == sizeof(struct sockaddr_in6)) {
    /* The kernel never writes more than a sockaddr_storage; callers overstating *len
     * should not get the memory beyond that zeroed. */
    if (size > sizeof(struct sockaddr_storage)) size = sizeof(struct sockaddr_storage);
    memset(addr, 0, size);
  }
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
