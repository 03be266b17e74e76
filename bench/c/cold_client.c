/* The cold-start benchmark's client: one connection to a socket that systemd-socket-activate
 * holds, timed from just before connect() until the first byte arrives (or the connection ends:
 * a program that exits without answering, like `node -e 0`, closes the listener and the kernel
 * resets the connection waiting in its backlog). The program behind the socket starts only when
 * this connection arrives, so the time is its start-up plus its first answer.
 *
 * Usage: cold_client -p PORT [-a ADDR] [-t TIMEOUT_MS]
 * Prints {"us":N,"outcome":"byte"|"eof"|"reset"} on stdout; exits 1 on a timeout or error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PROGRAM "cold_client"
#include "command_line.h"

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  const char *addr = "::1";
  int port = -1, timeout_ms = 10000, ch;
  while ((ch = getopt(argc, argv, "a:p:t:")) != -1) {
    bool ok = true;
    switch (ch) {
    case 'a': addr = optarg; break;
    case 'p': ok = parse_int(optarg, 1, 65535, &port); break;
    case 't': ok = parse_int(optarg, 1, 600000, &timeout_ms); break;
    default: ok = false;
    }
    if (!ok) port = -1;
  }
  if (port < 0 || optind != argc) {
    fprintf(stderr, "usage: cold_client -p PORT [-a ADDR] [-t TIMEOUT_MS]\n");
    return 2;
  }
  struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1) {
    fprintf(stderr, "cold_client: not an IPv6 address: %s\n", addr);
    return 2;
  }
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  double start = now_us();
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) die("connect");
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int n = poll(&p, 1, timeout_ms);
  if (n < 0) die("poll");
  if (n == 0) {
    fprintf(stderr, "cold_client: no answer within %d ms\n", timeout_ms);
    return 1;
  }
  char byte;
  ssize_t got = recv(fd, &byte, 1, 0);
  double elapsed = now_us() - start;
  const char *outcome = got == 1 ? "byte" : got == 0 ? "eof" : errno == ECONNRESET ? "reset" : NULL;
  if (!outcome) die("recv");
  printf("{\"us\":%.0f,\"outcome\":\"%s\"}\n", elapsed, outcome);
  return 0;
}
