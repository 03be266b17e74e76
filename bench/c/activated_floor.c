/* The cold-start benchmark's floor: the least a socket-activated server can do. It takes the
 * listener systemd-socket-activate passes as descriptor 3, accepts one connection, writes one
 * byte and exits. Its time is the cost of activation itself (exec, accept, write).
 *
 * Usage: activated_floor (LISTEN_FDS=1, as systemd-socket-activate sets it) */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define BENCH_PROGRAM "activated_floor"
#include "command_line.h"

int main(void) {
  const char *fds = getenv("LISTEN_FDS");
  if (!fds || atoi(fds) < 1) {
    fprintf(stderr, "activated_floor: no LISTEN_FDS: run it under systemd-socket-activate\n");
    return 2;
  }
  int conn = accept4(3, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) die("accept4");
  static const char byte = 'x';
  if (send(conn, &byte, 1, MSG_NOSIGNAL) != 1) die("send");
  close(conn);
  return 0;
}
