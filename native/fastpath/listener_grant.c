/* The answer to a listener-mode registration (docs/wire-protocol.md): the
 * grant carries the slot's listening socket when the fast path can serve the
 * slot, and is a plain grant otherwise, the receiver then being served over
 * its registration connection as in classic mode. */
#include <errno.h>
#include <sys/socket.h>

#include "common/fd_send.h"
#include "fastpath/fastpath.h"

static uint64_t grants[2]; /* [0] without a listener, [1] with one */

static ssize_t send_grant(int conn_fd, int listener_fd) {
  static const unsigned char granted[4] = {0x80, 0, 0, 0};
  return skbox_send_fds(conn_fd, NULL, 0, granted, sizeof granted, &listener_fd, listener_fd >= 0 ? 1 : 0,
                        MSG_DONTWAIT | MSG_NOSIGNAL);
}

ssize_t skbox_fastpath_grant(int conn_fd, uint32_t slot, int *listener_mode) {
  int listener = skbox_fastpath_slot_open(slot);
  ssize_t n = send_grant(conn_fd, listener);
  if (n != 4 && listener >= 0) {
    int e = errno;
    skbox_fastpath_slot_close(slot, 0);
    listener = -1;
    errno = e;
  }
  *listener_mode = listener >= 0;
  if (n == 4) __atomic_fetch_add(&grants[*listener_mode], 1, __ATOMIC_RELAXED);
  return n;
}

uint64_t skbox_fastpath_grants(int with_listener) {
  return __atomic_load_n(&grants[with_listener ? 1 : 0], __ATOMIC_RELAXED);
}
