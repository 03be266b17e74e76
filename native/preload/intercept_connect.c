/* connect(): with SKBOX_ENABLE_CONNECT, magic addresses reach the UNIX socket they name. */
#include <errno.h>
#include <sys/socket.h>

#include "address_route.h"
#include "exported.h"
#include "magic_address.h"
#include "preload_config.h"
#include "socket_replace.h"
#include "target_refusal.h"
#include "unix_target_path.h"

/* Fails closed like bind when the target cannot be resolved (one line on stderr); a refused
 * connection to a resolved target is the daemon's to report, as for any connect. */
static int connect_socketbox_target(int fd, const struct sockaddr *addr, socklen_t len,
                                    const struct skbox_socketbox_target *target,
                                    const struct skbox_preload_config *config) {
  /* A datagram target receives connections, it cannot be connected to; level 2 fakes one. */
  if (!target->stream && config->enable_connect < 2) {
    errno = EINVAL;
    return -1;
  }
  struct skbox_unix_target unix_target;
  struct skbox_target_error error;
  if (skbox_resolve_unix_target(target, config, &unix_target, &error) != 0) {
    skbox_report_refused("connect", addr, len, &error);
    return -1;
  }
  if (target->stream) return skbox_connect_stream_in_place(fd, &unix_target);
  return skbox_connect_datagram_in_place(fd, &unix_target);
}

SKBOX_EXPORTED int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  return skbox_route_address_call(fd, addr, len, SKBOX_USE_CONNECT, connect_socketbox_target);
}
