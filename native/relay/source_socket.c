#include "source_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/datagram_bind.h"

int skbox_relay_bind_receive_socket(const char *path) {
  return skbox_bind_datagram_socket(path, 0660);
}

static int int_option(int fd, int option, int *value) {
  socklen_t len = sizeof(*value);
  return getsockopt(fd, SOL_SOCKET, option, value, &len);
}

int skbox_relay_prepare_source(int fd, enum skbox_relay_source_kind kind, const char **why) {
  int type = 0, listening = 0, domain = 0;
  *why = "not a socket";
  if (int_option(fd, SO_TYPE, &type) != 0) return -1;
  if (kind == SKBOX_RELAY_SOURCE_LISTEN) {
    *why = "not a stream socket";
    if (type != SOCK_STREAM) {
      errno = EINVAL;
      return -1;
    }
    *why = "listen";
    if (int_option(fd, SO_ACCEPTCONN, &listening) != 0) return -1;
    /* Already listening: keep the backlog its owner chose. */
    if (!listening && listen(fd, SOMAXCONN) != 0) return -1;
  } else {
    *why = "not a UNIX socket";
    if (int_option(fd, SO_DOMAIN, &domain) != 0) return -1;
    if (domain != AF_UNIX) {
      errno = EINVAL;
      return -1;
    }
  }
  *why = "fcntl";
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) return -1;
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return -1;
  return 0;
}
