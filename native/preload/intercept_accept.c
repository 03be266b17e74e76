/* accept()/accept4(): on a socketbox receiving socket, the next connection sent to it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address_protection.h"
#include "descriptor_receive.h"
#include "exported.h"
#include "listener_registration.h"
#include "preload_config.h"
#include "real_calls.h"
#include "socket_kind.h"

/* A socket connections arrive on as descriptors: a UNIX datagram socket, or with
 * SKBOX_ACCEPT_STREAM a connected (not listening) UNIX stream or seqpacket socket. */
static int receives_descriptors(int fd, const struct skbox_preload_config *config) {
  if (skbox_socket_domain(fd) != AF_UNIX) return 0;
  int type = skbox_socket_type(fd);
  if (type == SOCK_DGRAM) return 1;
  if (config->accept_stream && (type == SOCK_STREAM || type == SOCK_SEQPACKET)) return skbox_socket_listening(fd) == 0;
  return 0;
}

/* SKBOX_SCHED_YIELD: processes sharing one receiving socket take turns more evenly. */
static void maybe_yield(const struct skbox_preload_config *config) {
  static unsigned counter;
  if (config->sched_yield && __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED) % 7 == 0) sched_yield();
}

/* Gives the received descriptor the flags accept4 was asked for. */
static int apply_accept_flags(int fd, int flags) {
  int status_flags = fcntl(fd, F_GETFL);
  if (status_flags < 0) return -1;
  int wanted = (flags & SOCK_NONBLOCK) ? (status_flags | O_NONBLOCK) : (status_flags & ~O_NONBLOCK);
  if (wanted != status_flags && fcntl(fd, F_SETFL, wanted) != 0) return -1;
  /* Received close-on-exec (MSG_CMSG_CLOEXEC); clear it only when not asked for. */
  if (!(flags & SOCK_CLOEXEC) && fcntl(fd, F_SETFD, 0) != 0) return -1;
  return 0;
}

static void report_peer(int fd, struct sockaddr *addr, socklen_t *len, const struct skbox_preload_config *config) {
  skbox_protect_address_buffer(fd, addr, len, config->getpeername_protection);
  if (config->stealth_mode && skbox_socket_domain(fd) == AF_UNIX) {
    skbox_report_loopback_peer(addr, len);
    return;
  }
  int saved = errno;
  if (skbox_real()->getpeername(fd, addr, len) != 0) *len = 0;
  errno = saved;
}

static int accept_from_socketbox(int fd, struct sockaddr *addr, socklen_t *len, int flags,
                                 const struct skbox_preload_config *config) {
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
    errno = EINVAL;
    return -1;
  }
  maybe_yield(config);
  int connection = skbox_receive_connection(fd, config->strict_stream_mode);
  if (connection < 0) return -1;
  if (apply_accept_flags(connection, flags) != 0) {
    int saved = errno;
    close(connection);
    errno = saved;
    return -1;
  }
  if (addr != NULL && len != NULL) report_peer(connection, addr, len, config);
  return connection;
}

/* The real accept, with the caller's buffer protected and UNIX peers hidden in stealth mode. */
static int accept_for_real(int fd, struct sockaddr *addr, socklen_t *len, int flags,
                           const struct skbox_preload_config *config) {
  /* The connection will be of the listening socket's family. */
  skbox_protect_address_buffer(fd, addr, len, config->getpeername_protection);
  socklen_t room = (len != NULL) ? *len : 0;
  int connection = skbox_real()->accept4(fd, addr, len, flags);
  if (connection >= 0 && config->stealth_mode && addr != NULL && len != NULL && room >= sizeof(sa_family_t) &&
      addr->sa_family == AF_UNIX) {
    *len = room;
    skbox_report_loopback_peer(addr, len);
  }
  return connection;
}

static int accept_intercepted(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  int saved_errno = errno;
  const struct skbox_preload_config *config = skbox_config();
  int registration = skbox_listener_registration(fd);
  if (registration >= 0 && registration != fd) {
    /* Listener mode: a connection that did not take the fast path came over the registration. */
    int connection = accept_from_socketbox(registration, addr, len, flags, config);
    errno = saved_errno;
    if (connection >= 0) return connection;
  }
  if (registration == fd || receives_descriptors(fd, config)) {
    int connection = accept_from_socketbox(fd, addr, len, flags, config);
    if (connection >= 0) errno = saved_errno;
    return connection;
  }
  errno = saved_errno;
  return accept_for_real(fd, addr, len, flags, config);
}

SKBOX_EXPORTED int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  return accept_intercepted(fd, addr, len, flags);
}

SKBOX_EXPORTED int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  return accept_intercepted(fd, addr, len, 0);
}
