/* The benchmark's receiver: binds a UNIX datagram socket at PATH, takes each connection that
 * socketbox passes with SCM_RIGHTS, writes one byte to it and closes it. It drains as fast as
 * it can, with the default receive queue (net.unix.max_dgram_qlen), as a real receiver would.
 *
 * Usage: receiver PATH [TIMES_FILE]
 * On SIGTERM it reads what is still queued, then prints
 * {"received":N,"written":N,"write_failed":N,"without_fd":N} on stdout and exits 0.
 * With TIMES_FILE it also writes one line per connection, "CLIENT_PORT RECEIVED_NS": the client's
 * port (getpeername) and CLOCK_MONOTONIC when recvmsg returned it, for bench/latency-breakdown.ts
 * (the getpeername is the only extra work, and comes after the timestamp). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <stdint.h>
#include <unistd.h>

#define BENCH_PROGRAM "receiver"
#include "command_line.h"
#include "monotonic_clock.h"

/* Room for a few descriptors, so extra ones can be seen and closed. */
#define MAX_FDS_PER_MESSAGE 8

struct counts {
  long received, written, write_failed, without_fd;
};

/* TIMES_FILE: a (port, time) pair per connection, kept in memory until the end. */
#define MAX_TIMES 1000000
struct arrival {
  uint16_t port;
  uint64_t ns;
};
static struct arrival *arrivals;
static long n_arrivals;

static void note_arrival(int conn, uint64_t ns) {
  if (!arrivals || n_arrivals == MAX_TIMES) return;
  struct sockaddr_in6 peer;
  socklen_t len = sizeof peer;
  uint16_t port = 0;
  if (getpeername(conn, (struct sockaddr *)&peer, &len) == 0 && peer.sin6_family == AF_INET6) port = ntohs(peer.sin6_port);
  arrivals[n_arrivals++] = (struct arrival){port, ns};
}

static void write_arrivals(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) die("fopen");
  for (long i = 0; i < n_arrivals; i++) fprintf(f, "%u %llu\n", arrivals[i].port, (unsigned long long)arrivals[i].ns);
  if (fclose(f) != 0) die("fclose");
}

static int bind_datagram(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) {
    fprintf(stderr, "receiver: path too long: %s\n", path);
    exit(2);
  }
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  unlink(path); /* a stale socket file from an earlier run */
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) die("bind");
  return fd;
}

static void answer(int conn, struct counts *c) {
  static const char byte = 'x';
  c->received++;
  if (send(conn, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
    c->written++;
  else
    c->write_failed++;
  close(conn);
}

/* Handles one message; false when none came (queue empty, timeout or a signal). */
static bool receive_one(int sock, int flags, struct counts *c) {
  char payload[16];
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * MAX_FDS_PER_MESSAGE)];
  } control;
  struct iovec iov = {.iov_base = payload, .iov_len = sizeof(payload)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                       .msg_controllen = sizeof(control.buf)};
  ssize_t n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
  uint64_t arrived_ns = arrivals ? monotonic_ns() : 0;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
    die("recvmsg");
  }
  int conn = -1;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int fds[MAX_FDS_PER_MESSAGE];
    memcpy(fds, CMSG_DATA(cm), count * sizeof(int));
    for (size_t i = 0; i < count; i++) {
      if (conn < 0)
        conn = fds[i];
      else
        close(fds[i]); /* only the first descriptor is the connection */
    }
  }
  if (conn >= 0) {
    if (arrivals) note_arrival(conn, arrived_ns);
    answer(conn, c);
  }
  else
    c->without_fd++;
  return true;
}

static volatile sig_atomic_t stopping;

static void on_termination(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: receiver PATH [TIMES_FILE]\n");
    return 2;
  }
  if (argc == 3 && !(arrivals = calloc(MAX_TIMES, sizeof *arrivals))) die("calloc");
  /* One blocking recvmsg per connection, as the original's receivers do: no poll before it
   * and no EAGAIN after it. Without SA_RESTART a signal ends the wait at once; the receive
   * timeout bounds the one race (a signal just before recvmsg blocks) to 100 ms. */
  struct sigaction sa = {.sa_handler = on_termination};
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) die("sigaction");
  int sock = bind_datagram(argv[1]);
  struct timeval wake = {.tv_sec = 0, .tv_usec = 100000};
  if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof wake) != 0) die("SO_RCVTIMEO");
  struct counts c = {0};
  while (!stopping) receive_one(sock, 0, &c);
  while (receive_one(sock, MSG_DONTWAIT, &c)) {
  }
  unlink(argv[1]);
  if (argc == 3) write_arrivals(argv[2]);
  printf("{\"received\":%ld,\"written\":%ld,\"write_failed\":%ld,\"without_fd\":%ld}\n", c.received, c.written,
         c.write_failed, c.without_fd);
  return 0;
}
