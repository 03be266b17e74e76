/* bind(): magic addresses become UNIX sockets, fe8f:1::/32 becomes link-local. */
#include <errno.h>
#include <sys/socket.h>

#include "exported.h"
#include "listener_registration.h"
#include "magic_address.h"
#include "preload_config.h"
#include "real_calls.h"
#include "socket_kind.h"
#include "socket_replace.h"
#include "unix_target_path.h"

static int bind_socketbox_target(int fd, const struct skbox_socketbox_target *target,
                                 const struct skbox_preload_config *config, const struct sockaddr *addr,
                                 socklen_t len) {
  if (target->listener_mode) return skbox_listener_bind(fd, target->slot, config->registration_socket, addr, len);
  struct skbox_unix_target unix_target;
  if (skbox_resolve_unix_target(target, config, &unix_target) != 0) return -1;
  return skbox_bind_unix_in_place(fd, &unix_target, target->stream);
}

SKBOX_EXPORTED int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  int saved_errno = errno;
  const struct skbox_preload_config *config = skbox_config();
  const struct skbox_real_calls *real = skbox_real();

  struct skbox_address_decision decision;
  skbox_classify_address(addr, len, SKBOX_USE_BIND, config, &decision);
  switch (decision.kind) {
    case SKBOX_ADDRESS_LINK_LOCAL:
      errno = saved_errno;
      return real->bind(fd, (const struct sockaddr *)&decision.link_local, sizeof(decision.link_local));
    case SKBOX_ADDRESS_SOCKETBOX:
      /* Only TCP sockets are replaced; a UDP bind to the same address is left alone. */
      if (skbox_is_inet_stream(fd)) {
        if (bind_socketbox_target(fd, &decision.target, config, addr, len) != 0) return -1;
        errno = saved_errno;
        return 0;
      }
      break;
    case SKBOX_ADDRESS_ORDINARY:
      break;
  }
  errno = saved_errno;
  return real->bind(fd, addr, len);
}
