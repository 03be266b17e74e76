/* bind(): magic addresses become UNIX sockets, fe8f:1::/32 becomes link-local. */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>

#include "address_route.h"
#include "exported.h"
#include "listener_registration.h"
#include "magic_address.h"
#include "preload_config.h"
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
                                 const struct skbox_socketbox_target *target, const struct skbox_preload_config *config) {
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
    snprintf(error.subject, sizeof(error.subject), "%s%s", unix_target.abstract ? "@" : "",
             unix_target.abstract ? name + 1 : name);
    error.why = "cannot bind the UNIX socket there";
    errno = bind_errno;
    skbox_report_refused("bind", addr, len, &error);
    return -1;
  }
  return 0;
}

SKBOX_EXPORTED int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  return skbox_route_address_call(fd, addr, len, SKBOX_USE_BIND, bind_socketbox_target);
}
