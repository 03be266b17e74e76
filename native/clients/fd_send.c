#include "fd_send.h"
#include "common/unix_address.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
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

int skc_send_fds(int sock, const int *fds, unsigned count, const char *path, int wait) {
  if (count > SKC_SEND_MAX_FDS) {
    errno = EINVAL;
    return -1;
  }
  struct sockaddr_un addr;
  int addr_len = 0;
  if (path) {
    addr_len = skbox_unix_address(path, &addr);
    if (addr_len < 0) return -1;
  }
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * SKC_SEND_MAX_FDS)];
  } control;
  memset(&control, 0, sizeof(control));

  char payload = '\0';
  struct iovec iov = {.iov_base = &payload, .iov_len = 1};
  struct msghdr m;
  memset(&m, 0, sizeof(m));
  m.msg_name = path ? &addr : NULL;
  m.msg_namelen = path ? (socklen_t)addr_len : 0;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (count > 0) {
    m.msg_control = control.buf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * count);
  }

  for (;;) {
    if (sendmsg(sock, &m, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) return 0;
    if (errno == EINTR) continue;
    if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait) return -1;
    if (wait_writable(sock, path != NULL) != 0) return -1;
  }
}
