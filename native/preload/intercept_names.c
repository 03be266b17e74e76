/* getsockname()/getpeername(): the caller's buffer is zeroed first (see address_protection.h). */
#include <sys/socket.h>

#include "address_protection.h"
#include "exported.h"
#include "listener_registration.h"
#include "preload_config.h"
#include "real_calls.h"

SKBOX_EXPORTED int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
  skbox_protect_address_buffer(fd, addr, len, skbox_config()->getpeername_protection);
  /* Listener mode: the address the daemon bound, not socketbox's socket's. */
  if (skbox_listener_bound_address(fd, addr, len) == 0) return 0;
  return skbox_real()->getsockname(fd, addr, len);
}

SKBOX_EXPORTED int getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
  skbox_protect_address_buffer(fd, addr, len, skbox_config()->getpeername_protection);
  return skbox_real()->getpeername(fd, addr, len);
}
