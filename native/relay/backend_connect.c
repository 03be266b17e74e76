#include "backend_connect.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nat64_map.h"
#include "common/unix_address.h"

static enum skbox_relay_backend_result finish(int fd, int rc, int *out) {
  if (rc == 0) {
    *out = fd;
    return SKBOX_RELAY_BACKEND_CONNECTED;
  }
  if (errno == EINPROGRESS) {
    *out = fd;
    return SKBOX_RELAY_BACKEND_IN_PROGRESS;
  }
  int err = errno == EAGAIN ? ECONNREFUSED : errno; /* UNIX: the backlog is full */
  close(fd);
  errno = err;
  return SKBOX_RELAY_BACKEND_FAILED;
}

static enum skbox_relay_backend_result connect_unix(const struct skbox_relay_config *cfg,
                                                    const struct skbox_relay_endpoint *local, int *out) {
  char mapped[SKBOX_RELAY_UNIX_PATH_MAX + 1];
  const char *path = cfg->unix_path;
  if (cfg->nat64) {
    if (skbox_relay_nat64_unix_path(cfg->unix_path, cfg->nat64_prefix, local->addr, mapped, sizeof(mapped)) != 0)
      return SKBOX_RELAY_BACKEND_OUTSIDE_PREFIX;
    path = mapped;
  }
  struct sockaddr_un addr;
  int len = skbox_unix_address(path, &addr);
  if (len < 0) return SKBOX_RELAY_BACKEND_FAILED;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return SKBOX_RELAY_BACKEND_FAILED;
  return finish(fd, connect(fd, (struct sockaddr *)&addr, (socklen_t)len), out);
}

static int is_loopback(const struct in6_addr *a) {
  return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

static enum skbox_relay_backend_result connect_tcp(const struct skbox_relay_config *cfg,
                                                   const struct skbox_relay_endpoint *local, int *out) {
  struct sockaddr_in6 target = cfg->tcp_target;
  if (cfg->nat64 && (!local->is_ip || skbox_relay_nat64_tcp_target(&cfg->tcp_target, cfg->nat64_prefix, cfg->nat64_wide,
                                                                   local->addr, local->port, &target) != 0))
    return SKBOX_RELAY_BACKEND_OUTSIDE_PREFIX;
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return SKBOX_RELAY_BACKEND_FAILED;
  int off = 0, on = 1;
  /* IPv4 backends are reached as ::ffff:a.b.c.d whatever net.ipv6.bindv6only says. */
  if (IN6_IS_ADDR_V4MAPPED(&target.sin6_addr)) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  if (cfg->congestion[0]) {
    setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cfg->congestion, strlen(cfg->congestion));
  } else if (is_loopback(&target.sin6_addr)) {
    /* Pacing congestion controls (bbr) only delay packets that never leave the host, and
     * cost a relayed transfer about two thirds of its throughput; reno is always allowed.
     * Best effort: the system's choice stays if this fails. */
    setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4);
  }
  return finish(fd, connect(fd, (struct sockaddr *)&target, sizeof(target)), out);
}

enum skbox_relay_backend_result skbox_relay_backend_connect(const struct skbox_relay_config *cfg,
                                                            const struct skbox_relay_endpoint *local, int *fd) {
  *fd = -1;
  return cfg->target_is_unix ? connect_unix(cfg, local, fd) : connect_tcp(cfg, local, fd);
}

int skbox_relay_backend_congestion_usable(const char *name) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc = setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, strlen(name));
  int err = errno;
  close(fd);
  errno = err;
  return rc;
}

int skbox_relay_backend_connect_error(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}
