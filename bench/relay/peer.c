/* Both ends of the relay benchmark, in C so that the measurement is of the path between
 * them (direct or through the relay), not of the client or server.
 *
 *   peer serve PORT THREADS           on [::1]:PORT (IPv6-only). A connection's first byte
 *                                     says what it wants: 'S' = sink: read to the end, then
 *                                     answer the byte count (8 bytes, big-endian) and close;
 *                                     'R' = request/response: read the 64-byte request,
 *                                     answer 256 bytes, close.
 *   peer bulk HOST PORT BYTES         sends 'S' and BYTES bytes, half-closes, waits for the
 *                                     count; prints {"bytes":N,"seconds":S}
 *   peer rr HOST PORT COUNT THREADS   COUNT request/response connections, THREADS at a
 *                                     time; prints {"connections":N,"failed":F,"seconds":S} */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BULK_CHUNK (1 << 20)
#define REQUEST_SIZE 64
#define RESPONSE_SIZE 256

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_full(int fd, void *buf, size_t len) {
  size_t have = 0;
  while (have < len) {
    ssize_t n = read(fd, (char *)buf + have, len - have);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return -1;
    }
    have += (size_t)n;
  }
  return 0;
}

static int write_full(int fd, const void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return -1;
    }
    done += (size_t)n;
  }
  return 0;
}

/* ---- server ---- */

static int listener;

static void serve_one(int c, char *buf) {
  char kind;
  if (read_full(c, &kind, 1) != 0) return;
  if (kind == 'S') {
    uint64_t total = 0;
    ssize_t n;
    while ((n = read(c, buf, BULK_CHUNK)) > 0) total += (uint64_t)n;
    unsigned char out[8];
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(total >> (56 - 8 * i));
    write_full(c, out, 8);
  } else if (kind == 'R') {
    if (read_full(c, buf, REQUEST_SIZE - 1) != 0) return;
    memset(buf, 'r', RESPONSE_SIZE);
    write_full(c, buf, RESPONSE_SIZE);
  }
}

static void *server_thread(void *unused) {
  (void)unused;
  char *buf = malloc(BULK_CHUNK);
  for (;;) {
    int c = accept(listener, NULL, NULL);
    if (c < 0) continue;
    serve_one(c, buf);
    close(c);
  }
  return NULL;
}

static int serve(int port, int threads) {
  listener = socket(AF_INET6, SOCK_STREAM, 0);
  int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  setsockopt(listener, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  if (bind(listener, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(listener, 4096) != 0) {
    perror("bind/listen");
    return 1;
  }
  pthread_t t;
  for (int i = 1; i < threads; i++) pthread_create(&t, NULL, server_thread, NULL);
  server_thread(NULL);
  return 0;
}

/* ---- clients ---- */

static struct sockaddr_in6 target;

static int dial(void) {
  int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  int on = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  if (connect(s, (struct sockaddr *)&target, sizeof(target)) != 0) {
    close(s);
    return -1;
  }
  return s;
}

static int bulk(uint64_t bytes) {
  char *buf = malloc(BULK_CHUNK);
  memset(buf, 'b', BULK_CHUNK);
  double t0 = now();
  int s = dial();
  if (s < 0 || write_full(s, "S", 1) != 0) return 1;
  for (uint64_t sent = 0; sent < bytes;) {
    size_t n = bytes - sent < BULK_CHUNK ? (size_t)(bytes - sent) : BULK_CHUNK;
    if (write_full(s, buf, n) != 0) return 1;
    sent += n;
  }
  shutdown(s, SHUT_WR);
  unsigned char in[8];
  if (read_full(s, in, 8) != 0) return 1;
  uint64_t got = 0;
  for (int i = 0; i < 8; i++) got = (got << 8) | in[i];
  double t1 = now();
  close(s);
  printf("{\"bytes\":%llu,\"seconds\":%.6f}\n", (unsigned long long)got, t1 - t0);
  return got == bytes ? 0 : 1;
}

static atomic_int remaining, failed;

static int one_request(void) {
  char req[REQUEST_SIZE], resp[RESPONSE_SIZE + 1];
  memset(req, 'q', sizeof(req));
  req[0] = 'R';
  int s = dial();
  if (s < 0) return -1;
  int rc = write_full(s, req, sizeof(req)) == 0 && read_full(s, resp, RESPONSE_SIZE) == 0 ? 0 : -1;
  /* The server closes after its answer: read that end, so the connection is over. */
  if (rc == 0 && read(s, resp, 1) != 0) rc = -1;
  close(s);
  return rc;
}

static void *rr_thread(void *unused) {
  (void)unused;
  while (atomic_fetch_sub(&remaining, 1) > 0)
    if (one_request() != 0) atomic_fetch_add(&failed, 1);
  return NULL;
}

static int rr(int count, int threads) {
  atomic_store(&remaining, count);
  pthread_t ts[256];
  if (threads > 256) threads = 256;
  double t0 = now();
  for (int i = 0; i < threads; i++) pthread_create(&ts[i], NULL, rr_thread, NULL);
  for (int i = 0; i < threads; i++) pthread_join(ts[i], NULL);
  printf("{\"connections\":%d,\"failed\":%d,\"seconds\":%.6f}\n", count, atomic_load(&failed), now() - t0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]), atoi(argv[3]));
  if (argc >= 5) {
    memset(&target, 0, sizeof(target));
    target.sin6_family = AF_INET6;
    target.sin6_port = htons((uint16_t)atoi(argv[3]));
    if (inet_pton(AF_INET6, argv[2], &target.sin6_addr) != 1) return 2;
    if (strcmp(argv[1], "bulk") == 0) return bulk(strtoull(argv[4], NULL, 10));
    if (strcmp(argv[1], "rr") == 0 && argc == 6) return rr(atoi(argv[4]), atoi(argv[5]));
  }
  fprintf(stderr, "usage: peer serve PORT THREADS | bulk HOST PORT BYTES | rr HOST PORT COUNT THREADS\n");
  return 2;
}
