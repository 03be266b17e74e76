#include "send_waiting.h"
#include "common/fd_send.h"
#include "common/unix_address.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

/* Waits until a send may succeed again. For a connected socket the kernel reports POLLOUT
 * once the receiver's queue has room; a send addressed to a path has no peer to watch, so it
 * retries after a millisecond instead of spinning. */
static int wait_writable(int sock, int addressed) {
  if (addressed) {
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
    nanosleep(&pause, NULL);
    return 0;
  }
  struct pollfd p = {.fd = sock, .events = POLLOUT};
  while (poll(&p, 1, -1) < 0) {
    if (errno != EINTR) return -1;
  }
  return 0;
}

int skbox_send_fds_waiting(int sock, const int *fds, unsigned count, const char *path, int wait) {
  /* Checked before the path, so a list that is too long is refused as such whatever the path. */
  if (count > SKBOX_SEND_MAX_FDS) {
    errno = EINVAL;
    return -1;
  }
  struct sockaddr_un addr;
  int addr_len = 0;
  if (path) {
    addr_len = skbox_unix_address(path, &addr);
    if (addr_len < 0) return -1;
  }
  static const char payload = '\0';
  for (;;) {
    if (skbox_send_fds(sock, path ? &addr : NULL, (socklen_t)addr_len, &payload, 1, fds, count,
                       MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
      return 0;
    if (errno == EINTR) continue;
    if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait) return -1;
    if (wait_writable(sock, path != NULL) != 0) return -1;
  }
}
