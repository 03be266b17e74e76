#include "harness_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void harness_fail(const char *file, int line, const char *what) {
  int e = errno;
  printf("{\"error\":\"");
  for (; *what; what++) putchar(*what == '"' || *what == '\\' ? '\'' : *what); /* stays valid JSON */
  printf("\",\"at\":\"%s:%d\",\"errno\":%d}\n", file, line, e);
  fflush(stdout);
  _exit(1); /* not exit: other threads still run, and their state is the point of the report */
}

uint64_t harness_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void harness_sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int harness_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  CHECK(d != NULL, "cannot list /proc/self/fd");
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

/* Fills ss from an address text; 0 or -1. */
static int parse_address(const char *text, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (strchr(text, ':')) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    *len = sizeof *a;
    return inet_pton(AF_INET6, text, &a->sin6_addr) == 1 ? 0 : -1;
  }
  struct sockaddr_in *a = (struct sockaddr_in *)ss;
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  *len = sizeof *a;
  return inet_pton(AF_INET, text, &a->sin_addr) == 1 ? 0 : -1;
}

static int start_connect(const char *src, const char *dst, uint16_t port, int nonblocking) {
  struct sockaddr_storage to, from;
  socklen_t to_len, from_len;
  CHECK(parse_address(dst, port, &to, &to_len) == 0, "bad destination address");
  int fd = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -1;
  if (src) {
    int on = 1; /* the port is picked at connect: thousands of clients share one source address */
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    CHECK(parse_address(src, 0, &from, &from_len) == 0, "bad source address");
    CHECK(bind(fd, (struct sockaddr *)&from, from_len) == 0, "cannot bind a client's source address");
  }
  if (connect(fd, (struct sockaddr *)&to, to_len) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

int harness_connect(const char *src, const char *dst, uint16_t port) {
  return start_connect(src, dst, port, 0);
}

/* 1 delivered, 0 refused, 2 nothing yet. */
static int read_outcome(int fd) {
  char c;
  ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
  if (n == 1) {
    CHECK(c == 'k', "a client read a byte that no receiver wrote");
    return 1;
  }
  if (n == 0) return 0;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS || errno == ENOTCONN) return 2;
  return 0; /* ECONNRESET, ECONNREFUSED: refused */
}

int harness_outcome(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r = poll(&p, 1, timeout_ms);
  if (r <= 0) return -1;
  int o = read_outcome(fd);
  return o == 2 ? -1 : o;
}

#define MAX_IN_FLIGHT 512

void harness_drive(const char *src, const char *dst, uint16_t port, int n, int in_flight, int timeout_ms,
                   harness_client_result *out) {
  struct pollfd fds[MAX_IN_FLIGHT];
  uint64_t deadline[MAX_IN_FLIGHT];
  int open = 0, started = 0;
  if (in_flight > MAX_IN_FLIGHT) in_flight = MAX_IN_FLIGHT;
  while (started < n || open > 0) {
    while (started < n && open < in_flight) {
      int fd = start_connect(src, dst, port, 1);
      CHECK(fd >= 0, "a client cannot connect");
      fds[open] = (struct pollfd){.fd = fd, .events = POLLIN};
      deadline[open] = harness_now_ms() + (uint64_t)timeout_ms;
      open++;
      started++;
    }
    int r = poll(fds, (nfds_t)open, 50);
    CHECK(r >= 0 || errno == EINTR, "poll");
    uint64_t now = harness_now_ms();
    for (int i = 0; i < open;) {
      int o = fds[i].revents ? read_outcome(fds[i].fd) : 2;
      if (o == 2) {
        CHECK(now < deadline[i], "a connection got no answer in time: lost");
        i++;
        continue;
      }
      if (o == 1) out->delivered++;
      else out->refused++;
      close(fds[i].fd);
      fds[i] = fds[open - 1];
      deadline[i] = deadline[open - 1];
      open--;
    }
  }
}
