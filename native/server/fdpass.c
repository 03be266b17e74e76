#include "server/fdpass.h"

#include <sys/socket.h>
#include <unistd.h>

#include "common/fd_send.h"

/* The hand-off's payload. MSG_DONTWAIT rather than O_NONBLOCK: inherited descriptors
 * (jump-fd, -i) share their file status flags with other processes. */
static const char handover_payload = 0;
#define HANDOVER_FLAGS (MSG_DONTWAIT | MSG_NOSIGNAL)

int skbox_send_fd(int via_socket, int fd_to_send) {
  return skbox_send_fd_with(via_socket, fd_to_send, &handover_payload, 1);
}

int skbox_send_fd_with(int via_socket, int fd_to_send, const void *payload, size_t len) {
  ssize_t sent = skbox_send_fds(via_socket, NULL, 0, payload, len, &fd_to_send, 1, HANDOVER_FLAGS);
  return sent == (ssize_t)len ? 0 : -1;
}

int skbox_send_fd_burst(int via_socket, const int *fds, unsigned n) {
  return skbox_send_fd_each(via_socket, &handover_payload, 1, fds, n, HANDOVER_FLAGS);
}

void skbox_reset_close(int fd) {
  struct linger l = {.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}
