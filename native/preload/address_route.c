#include "address_route.h"

#include <errno.h>

#include "real_calls.h"
#include "socket_kind.h"

int skbox_route_address_call(int fd, const struct sockaddr *addr, socklen_t len, enum skbox_address_use use,
                             skbox_target_call to_target) {
  int saved_errno = errno;
  const struct skbox_preload_config *config = skbox_config();
  const struct skbox_real_calls *real = skbox_real();
  int (*real_call)(int, const struct sockaddr *, socklen_t) = use == SKBOX_USE_BIND ? real->bind : real->connect;

  struct skbox_address_decision decision = {.kind = SKBOX_ADDRESS_ORDINARY};
  /* connect() is left alone unless SKBOX_ENABLE_CONNECT asks for it. */
  if (use == SKBOX_USE_BIND || config->enable_connect) skbox_classify_address(addr, len, use, config, &decision);
  switch (decision.kind) {
    case SKBOX_ADDRESS_LINK_LOCAL:
      errno = saved_errno;
      return real_call(fd, (const struct sockaddr *)&decision.link_local, sizeof(decision.link_local));
    case SKBOX_ADDRESS_SOCKETBOX:
      /* Only TCP sockets are replaced; a UDP socket on the same address is left alone. */
      if (skbox_is_inet_stream(fd)) {
        if (to_target(fd, addr, len, &decision.target, config) != 0) return -1;
        errno = saved_errno;
        return 0;
      }
      break;
    case SKBOX_ADDRESS_ORDINARY: break;
  }
  errno = saved_errno;
  return real_call(fd, addr, len);
}
