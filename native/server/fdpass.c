#include "server/fdpass.h"

#include <sys/socket.h>
#include <unistd.h>

#include "common/fd_send.h"

int skbox_send_fd(int via_socket, int fd_to_send) {
  static const char payload = 0;
  return skbox_send_fd_with(via_socket, fd_to_send, &payload, 1);
}

int skbox_send_fd_with(int via_socket, int fd_to_send, const void *payload, size_t len) {
  /* MSG_DONTWAIT rather than O_NONBLOCK: inherited descriptors (jump-fd, -i)
   * share their file status flags with other processes. */
  ssize_t sent = skbox_send_fds(via_socket, NULL, 0, payload, len, &fd_to_send, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  return sent == (ssize_t)len ? 0 : -1;
}

void skbox_reset_close(int fd) {
  struct linger l = {.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}
