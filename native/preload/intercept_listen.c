/* listen(): a no-op on the datagram sockets that replaced TCP ones; refuses to let an
 * unbound TCP socket listen on a random port (SKBOX_BLOCK_LISTEN_EMPTY_ADDR). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "exported.h"
#include "listener_registration.h"
#include "preload_config.h"
#include "real_calls.h"
#include "socket_kind.h"

/* An IP socket that was never bound: listen() would give it an ephemeral port on the
 * wildcard address. That happens when a daemon ignores a failed magic bind, and would expose
 * it on every address instead of behind socketbox. */
static int never_bound(int fd, const struct skbox_real_calls *real) {
  struct sockaddr_storage local;
  socklen_t length = sizeof(local);
  memset(&local, 0, sizeof(local));
  if (real->getsockname(fd, (struct sockaddr *)&local, &length) != 0) return 0;
  if (local.ss_family == AF_INET) return ((struct sockaddr_in *)&local)->sin_port == 0;
  if (local.ss_family == AF_INET6) return ((struct sockaddr_in6 *)&local)->sin6_port == 0;
  return 0;
}

SKBOX_EXPORTED int listen(int fd, int backlog) {
  int saved_errno = errno;
  const struct skbox_preload_config *config = skbox_config();
  const struct skbox_real_calls *real = skbox_real();

  int domain = skbox_socket_domain(fd);
  /* Listener mode: socketbox's socket already listens (or the registration stands in for it). */
  if ((domain == AF_UNIX && skbox_socket_type(fd) == SOCK_DGRAM) || skbox_listener_registration(fd) >= 0) {
    errno = saved_errno;
    return 0;
  }
  if ((domain == AF_INET || domain == AF_INET6) && config->block_listen_empty && never_bound(fd, real)) {
    errno = EINVAL;
    return -1;
  }
  errno = saved_errno;
  return real->listen(fd, backlog);
}
