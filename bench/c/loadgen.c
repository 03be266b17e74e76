/* Benchmark load generator: N TCP connections to [ADDR]:PORT with at most C in flight, on one
 * thread with epoll and non-blocking connects. Per connection: connect start -> first byte read
 * (that is the latency) -> close. A connection that is refused, reset, ends without a byte or
 * exceeds the per-connection timeout is lost, and counted by why.
 *
 * Usage: loadgen -p PORT [-a ADDR] [-n N] [-c C] [-d LIMIT_MS] [-t TIMEOUT_MS] [-T TIMES_FILE]
 *   -a ADDR      IPv6 address to connect to (default ::1)
 *   -n N         connections in all (default 10000)
 *   -c C         connections in flight (default 8)
 *   -d LIMIT_MS  start no new connection after this many milliseconds (default 0: no limit);
 *                the ones in flight then still finish or time out
 *   -t TIMEOUT   per-connection timeout in milliseconds (default 5000)
 *   -T FILE      also write one line per completed connection, "LOCAL_PORT START_NS END_NS"
 *                (CLOCK_MONOTONIC), for bench/latency-breakdown.ts; the port costs a
 *                getsockname after connect, outside the timed span's own work
 * Prints one JSON object on stdout when every started connection has finished or timed out. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PROGRAM "loadgen"
#include "command_line.h"
#include "monotonic_clock.h"

/* How often in-flight connections are checked against their timeout. */
#define TIMEOUT_SCAN_NS (50 * 1000000ull)

struct options {
  struct sockaddr_in6 target;
  long connections;
  long inflight;
  long limit_ms;
  long timeout_ms;
  const char *times_file;
};

struct slot {
  int fd; /* -1 when free */
  uint16_t port; /* -T: the local port */
  uint64_t started_ns;
};

/* -T: one per completed connection. */
struct timed_connection {
  uint16_t port;
  uint64_t start_ns, end_ns;
};

struct lost_counts {
  long refused, reset, eof, timeout, other;
};

struct run {
  struct options opt;
  int epoll_fd;
  struct slot *slots;
  long free_top; /* free slot indexes are kept on a stack */
  long *free_slots;
  long started, in_flight, completed;
  struct lost_counts lost;
  uint32_t *latency_us; /* one per completed connection */
  struct timed_connection *times; /* -T only */
  uint64_t first_start_ns, last_end_ns;
};

static void usage(void) {
  fprintf(stderr, "usage: loadgen -p PORT [-a ADDR] [-n N] [-c C] [-d LIMIT_MS] [-t TIMEOUT_MS] [-T TIMES_FILE]\n");
  exit(2);
}

static struct options parse_options(int argc, char **argv) {
  struct options o = {.connections = 10000, .inflight = 8, .limit_ms = 0, .timeout_ms = 5000};
  const char *addr = "::1";
  long port = -1;
  int ch;
  while ((ch = getopt(argc, argv, "a:p:n:c:d:t:T:")) != -1) {
    bool ok = true;
    switch (ch) {
    case 'a': addr = optarg; break;
    case 'p': ok = parse_long(optarg, 1, 65535, &port); break;
    case 'n': ok = parse_long(optarg, 1, 100000000, &o.connections); break;
    case 'c': ok = parse_long(optarg, 1, 65536, &o.inflight); break;
    case 'd': ok = parse_long(optarg, 0, 86400000, &o.limit_ms); break;
    case 't': ok = parse_long(optarg, 1, 3600000, &o.timeout_ms); break;
    case 'T': o.times_file = optarg; break;
    default: ok = false;
    }
    if (!ok) usage();
  }
  if (port < 0 || optind != argc) usage();
  o.target.sin6_family = AF_INET6;
  o.target.sin6_port = htons((uint16_t)port);
  if (inet_pton(AF_INET6, addr, &o.target.sin6_addr) != 1) {
    fprintf(stderr, "loadgen: not an IPv6 address: %s\n", addr);
    exit(2);
  }
  return o;
}

static void release_slot(struct run *r, long i, bool reset) {
  if (reset) {
    /* A connection given up on is reset, so it leaves no TIME_WAIT behind. */
    struct linger hard = {.l_onoff = 1, .l_linger = 0};
    setsockopt(r->slots[i].fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  }
  close(r->slots[i].fd);
  r->slots[i].fd = -1;
  r->free_slots[r->free_top++] = i;
  r->in_flight--;
}

static void count_lost(struct run *r, int err) {
  switch (err) {
  case ECONNREFUSED: r->lost.refused++; break;
  case ECONNRESET:
  case EPIPE: r->lost.reset++; break;
  case ETIMEDOUT: r->lost.timeout++; break;
  default: r->lost.other++;
  }
}

static void start_one(struct run *r) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  long i = r->free_slots[--r->free_top];
  r->slots[i].fd = fd;
  r->slots[i].started_ns = monotonic_ns();
  if (r->started == 0) r->first_start_ns = r->slots[i].started_ns;
  r->started++;
  r->in_flight++;
  if (connect(fd, (struct sockaddr *)&r->opt.target, sizeof(r->opt.target)) != 0 && errno != EINPROGRESS) {
    count_lost(r, errno);
    r->last_end_ns = monotonic_ns();
    release_slot(r, i, false);
    return;
  }
  if (r->times) {
    struct sockaddr_in6 local;
    socklen_t len = sizeof local;
    r->slots[i].port = getsockname(fd, (struct sockaddr *)&local, &len) == 0 ? ntohs(local.sin6_port) : 0;
  }
  /* Readable means: the byte, the end of the stream, or an error (refused, reset). */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)i};
  if (epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
}

static void on_ready(struct run *r, long i) {
  char byte;
  ssize_t n = read(r->slots[i].fd, &byte, 1);
  uint64_t t = monotonic_ns();
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  r->last_end_ns = t;
  if (n == 1) {
    uint64_t us = (t - r->slots[i].started_ns) / 1000;
    if (r->times) r->times[r->completed] = (struct timed_connection){r->slots[i].port, r->slots[i].started_ns, t};
    r->latency_us[r->completed++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
  } else if (n == 0) {
    r->lost.eof++;
  } else {
    count_lost(r, errno);
  }
  release_slot(r, i, n != 1);
}

static void expire_slow(struct run *r, uint64_t now) {
  uint64_t limit = (uint64_t)r->opt.timeout_ms * 1000000ull;
  for (long i = 0; i < r->opt.inflight; i++) {
    if (r->slots[i].fd >= 0 && now - r->slots[i].started_ns > limit) {
      r->lost.timeout++;
      r->last_end_ns = now;
      release_slot(r, i, true);
    }
  }
}

static int compare_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values. */
static uint32_t percentile(const uint32_t *sorted, long count, double q) {
  if (count == 0) return 0;
  long rank = (long)((double)count * q + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > count) rank = count;
  return sorted[rank - 1];
}

static double cpu_seconds_used(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The CPUs this process may run on, as a JSON array: the harness checks its CPU placement. */
static void print_allowed_cpus(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) die("sched_getaffinity");
  const char *sep = "";
  printf("[");
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &set)) continue;
    printf("%s%d", sep, cpu);
    sep = ",";
  }
  printf("]");
}

static void write_times(const struct run *r) {
  FILE *f = fopen(r->opt.times_file, "w");
  if (!f) die("fopen");
  for (long i = 0; i < r->completed; i++)
    fprintf(f, "%u %llu %llu\n", r->times[i].port, (unsigned long long)r->times[i].start_ns,
            (unsigned long long)r->times[i].end_ns);
  if (fclose(f) != 0) die("fclose");
}

static void print_report(struct run *r, bool time_limited) {
  qsort(r->latency_us, (size_t)r->completed, sizeof(uint32_t), compare_u32);
  double elapsed = r->started ? (double)(r->last_end_ns - r->first_start_ns) / 1e9 : 0.0;
  const struct lost_counts *l = &r->lost;
  long lost = l->refused + l->reset + l->eof + l->timeout + l->other;
  printf("{\"requested\":%ld,\"connections\":%ld,\"completed\":%ld,\"lost\":%ld,"
         "\"failed\":{\"refused\":%ld,\"reset\":%ld,\"eof\":%ld,\"timeout\":%ld,\"other\":%ld},"
         "\"elapsed_s\":%.6f,\"rate_per_s\":%.1f,\"p50_us\":%" PRIu32 ",\"p99_us\":%" PRIu32
         ",\"p999_us\":%" PRIu32 ",\"max_us\":%" PRIu32 ",\"time_limited\":%s,"
         "\"loadgen_cpu_us_per_conn\":%.2f,\"cpus\":",
         r->opt.connections, r->started, r->completed, lost, l->refused, l->reset, l->eof, l->timeout,
         l->other, elapsed, elapsed > 0 ? (double)r->completed / elapsed : 0.0,
         percentile(r->latency_us, r->completed, 0.50), percentile(r->latency_us, r->completed, 0.99),
         percentile(r->latency_us, r->completed, 0.999),
         r->completed ? r->latency_us[r->completed - 1] : 0, time_limited ? "true" : "false",
         r->started ? cpu_seconds_used() * 1e6 / (double)r->started : 0.0);
  print_allowed_cpus();
  printf("}\n");
}

int main(int argc, char **argv) {
  struct run r = {.opt = parse_options(argc, argv)};
  if (r.opt.inflight > r.opt.connections) r.opt.inflight = r.opt.connections;
  r.slots = calloc((size_t)r.opt.inflight, sizeof(*r.slots));
  r.free_slots = calloc((size_t)r.opt.inflight, sizeof(long));
  r.latency_us = calloc((size_t)r.opt.connections, sizeof(uint32_t));
  if (r.opt.times_file) r.times = calloc((size_t)r.opt.connections, sizeof(*r.times));
  if (!r.slots || !r.free_slots || !r.latency_us || (r.opt.times_file && !r.times)) die("calloc");
  for (long i = 0; i < r.opt.inflight; i++) {
    r.slots[i].fd = -1;
    r.free_slots[r.free_top++] = r.opt.inflight - 1 - i;
  }
  r.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (r.epoll_fd < 0) die("epoll_create1");

  uint64_t begin = monotonic_ns();
  uint64_t stop_starting = r.opt.limit_ms ? begin + (uint64_t)r.opt.limit_ms * 1000000ull : UINT64_MAX;
  uint64_t next_scan = begin + TIMEOUT_SCAN_NS;
  bool time_limited = false;
  struct epoll_event events[256];
  for (;;) {
    uint64_t now = monotonic_ns();
    if (now >= stop_starting && r.started < r.opt.connections) time_limited = true;
    while (!time_limited && r.started < r.opt.connections && r.in_flight < r.opt.inflight) start_one(&r);
    if (r.in_flight == 0 && (time_limited || r.started == r.opt.connections)) break;
    int n = epoll_wait(r.epoll_fd, events, 256, (int)(TIMEOUT_SCAN_NS / 1000000ull));
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; k++) on_ready(&r, (long)events[k].data.u64);
    now = monotonic_ns();
    if (now >= next_scan) {
      expire_slow(&r, now);
      next_scan = now + TIMEOUT_SCAN_NS;
    }
  }
  if (r.times) write_times(&r);
  print_report(&r, time_limited);
  return 0;
}
