/* bind(): magic addresses become UNIX sockets, fe8f:1::/32 becomes link-local. */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "exported.h"
#include "listener_registration.h"
#include "magic_address.h"
#include "preload_config.h"
#include "real_calls.h"
#include "socket_kind.h"
#include "socket_replace.h"
#include "target_refusal.h"
#include "unix_target_path.h"

/* Listener mode (docs/fast-path.md): register at $SKBOX_REGISTRATION_SOCKET and put the
 * listening socket socketbox hands over in place of the daemon's. Fails closed as below. */
static int bind_listener_mode(int fd, const struct sockaddr *addr, socklen_t len,
                              const struct skbox_socketbox_target *target, const struct skbox_preload_config *config) {
  struct skbox_target_error error;
  const struct skbox_directory_root *socket = &config->registration_socket;
  if (socket->problem != NULL) {
    snprintf(error.subject, sizeof(error.subject), "%s", socket->variable);
    error.why = socket->problem;
    errno = EADDRNOTAVAIL;
    skbox_report_refused("bind", addr, len, &error);
    return -1;
  }
  if (skbox_listener_bind(fd, target->slot, socket->path, addr, len) != 0) {
    int bind_errno = errno;
    snprintf(error.subject, sizeof(error.subject), "%s, slot %u", socket->path, (unsigned)target->slot);
    error.why = "cannot register in listener mode";
    errno = bind_errno;
    skbox_report_refused("bind", addr, len, &error);
    return -1;
  }
  return 0;
}

/* Fails closed: whatever goes wrong, the socket stays unbound and the daemon gets an errno,
 * with one line on stderr saying why; it never falls back to a real bind on the address. */
static int bind_socketbox_target(int fd, const struct sockaddr *addr, socklen_t len,
                                 const struct skbox_socketbox_target *target,
                                 const struct skbox_preload_config *config) {
  if (target->listener_mode) return bind_listener_mode(fd, addr, len, target, config);
  struct skbox_unix_target unix_target;
  struct skbox_target_error error;
  if (skbox_resolve_unix_target(target, config, &unix_target, &error) != 0) {
    skbox_report_refused("bind", addr, len, &error);
    return -1;
  }
  if (skbox_bind_unix_in_place(fd, &unix_target, target->stream) != 0) {
    int bind_errno = errno;
    const char *name = unix_target.addr.sun_path;
    snprintf(error.subject, sizeof(error.subject), "%s%s", unix_target.abstract ? "@" : "", unix_target.abstract ? name + 1 : name);
    error.why = "cannot bind the UNIX socket there";
    errno = bind_errno;
    skbox_report_refused("bind", addr, len, &error);
    return -1;
  }
  return 0;
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
        if (bind_socketbox_target(fd, addr, len, &decision.target, config) != 0) return -1;
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
