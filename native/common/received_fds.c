#include "common/received_fds.h"

#include <string.h>
#include <unistd.h>

int skbox_keep_first_descriptor(struct msghdr *m, unsigned *extra_closed) {
  int first = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue;
    /* Only the bytes inside the buffer: CMSG_NXTHDR checks the lengths of later headers,
     * nothing checks the first one's. */
    size_t room = (size_t)((const char *)m->msg_control + m->msg_controllen - (const char *)CMSG_DATA(c));
    size_t len = c->cmsg_len - CMSG_LEN(0);
    size_t count = (len < room ? len : room) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int)); /* cmsg data may be unaligned */
      if (first < 0) {
        first = fd;
      } else {
        close(fd);
        ++*extra_closed;
      }
    }
  }
  return first;
}

static int socket_option(int fd, int option) {
  int value = -1;
  socklen_t len = sizeof value;
  if (getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) return -1;
  return value;
}

int skbox_descriptor_acceptable(int fd, int level) {
  if (level <= 0) return 1;
  /* Pipes and files fail getsockopt (ENOTSOCK) and are rejected with the rest. */
  if (socket_option(fd, SO_TYPE) != SOCK_STREAM) return 0;
  if (level == 1) return 1;
  int domain = socket_option(fd, SO_DOMAIN);
  return domain == AF_UNIX || domain == AF_INET || domain == AF_INET6;
}
