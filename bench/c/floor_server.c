/* The benchmark's no-dispatch floor: accepts TCP connections and writes the one byte itself,
 * with socketbox's accept pattern (epoll, then accept4 in a batch until EAGAIN) but no lookup
 * and no descriptor passing. Whatever socketbox costs above this is the price of dispatch.
 *
 * Usage: floor_server -p PORT [-a ADDR] [-b BACKLOG]
 *        floor_server -R REGISTRATION_SOCKET:SLOT
 * With -R it binds nothing: it registers for SLOT at a socketbox in listener mode
 * (docs/fast-path.md) and accepts, with the same loop, on the listening socket the grant
 * carries, which the kernel fast path fills: the fast-path row of the benchmark. It stops
 * when socketbox ends the registration, too.
 * On SIGTERM prints {"accepted":N,"written":N,"write_failed":N} on stdout and exits 0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/registration_client.h"
#define BENCH_PROGRAM "floor_server"
#include "command_line.h"
#include "termination_signals.h"

struct counts {
  long accepted, written, write_failed;
};

static int open_listener(const char *addr, int port, int backlog) {
  struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET6, addr, &sa.sin6_addr) != 1) {
    fprintf(stderr, "floor_server: not an IPv6 address: %s\n", addr);
    exit(2);
  }
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)); /* as socketbox does by default */
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) die("bind");
  if (listen(fd, backlog) != 0) die("listen");
  return fd;
}

static void serve_one(int fd, struct counts *c) {
  static const char byte = 'x';
  c->accepted++;
  if (send(fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
    c->written++;
  else
    c->write_failed++;
  close(fd);
}

/* Accepts until the backlog is empty (EAGAIN), as socketbox's loop does. */
static void accept_batch(int listen_fd, struct counts *c) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      serve_one(fd, c);
      continue;
    }
    switch (errno) {
    case EAGAIN: return;
    case EINTR:
    case ECONNABORTED:
    case EPROTO: continue;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM: {
      /* Out of descriptors or memory: back off briefly rather than spin. */
      struct timespec pause = {.tv_sec = 0, .tv_nsec = 1000000};
      nanosleep(&pause, NULL);
      return;
    }
    default: die("accept4");
    }
  }
}

/* -R PATH:SLOT: the listener of a listener-mode registration; *registration is kept open. */
static int registered_listener(char *spec, int *registration) {
  char *colon = strrchr(spec, ':');
  int slot;
  if (!colon || !parse_int(colon + 1, 0, 65535, &slot)) {
    fprintf(stderr, "floor_server: -R wants PATH:SLOT\n");
    exit(2);
  }
  *colon = 0;
  const char *why = "";
  int listener = -1;
  *registration = skbox_register_listener(spec, (uint32_t)slot, 10000, &listener, &why);
  if (*registration < 0) die(why);
  if (listener < 0) {
    fprintf(stderr, "floor_server: the grant carried no listener (socketbox has no fast path)\n");
    exit(1);
  }
  int flags = fcntl(listener, F_GETFL);
  if (flags < 0 || fcntl(listener, F_SETFL, flags | O_NONBLOCK) != 0) die("fcntl");
  fprintf(stderr, "floor_server: registered for slot %d in listener mode\n", slot);
  return listener;
}

int main(int argc, char **argv) {
  const char *addr = "::1";
  char *registration_spec = NULL;
  int port = -1, backlog = 4096, ch;
  while ((ch = getopt(argc, argv, "a:p:b:R:")) != -1) {
    bool ok = true;
    switch (ch) {
    case 'a': addr = optarg; break;
    case 'p': ok = parse_int(optarg, 1, 65535, &port); break;
    case 'b': ok = parse_int(optarg, 1, 1 << 20, &backlog); break;
    case 'R': registration_spec = optarg; break;
    default: ok = false;
    }
    if (!ok) port = -1;
  }
  if ((port < 0) == (registration_spec == NULL) || optind != argc) {
    fprintf(stderr, "usage: floor_server -p PORT [-a ADDR] [-b BACKLOG] | -R REGISTRATION_SOCKET:SLOT\n");
    return 2;
  }
  int signal_fd = termination_signals();
  if (signal_fd < 0) die("signalfd");
  int registration = -1;
  int listen_fd = registration_spec ? registered_listener(registration_spec, &registration) : open_listener(addr, port, backlog);
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listen_fd};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &ev) != 0) die("epoll_ctl");
  ev.data.fd = signal_fd;
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, signal_fd, &ev) != 0) die("epoll_ctl");
  /* The registration: readable only at its end (nothing is routed over it in this benchmark). */
  ev.data.fd = registration;
  if (registration >= 0 && epoll_ctl(epoll_fd, EPOLL_CTL_ADD, registration, &ev) != 0) die("epoll_ctl");

  struct counts c = {0};
  bool stopping = false;
  while (!stopping) {
    struct epoll_event ready[4];
    int n = epoll_wait(epoll_fd, ready, 4, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; k++) {
      if (ready[k].data.fd == listen_fd)
        accept_batch(listen_fd, &c);
      else
        stopping = true;
    }
  }
  printf("{\"accepted\":%ld,\"written\":%ld,\"write_failed\":%ld}\n", c.accepted, c.written, c.write_failed);
  return 0;
}
