/* Benchmark load generator: COUNT TCP connections to [ADDR]:PORT, CONCURRENCY at a time (one
 * thread each). Every connection is read until the server side closes it, so a connection
 * counts once the spawned program has run and exited. Prints one JSON line:
 * {"connections":N,"failed":F,"seconds":S,"perSecond":R}
 * Usage: connect-loop ADDR PORT COUNT CONCURRENCY */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in6 target;
static atomic_int remaining;
static atomic_int failed;

static int one_connection(void) {
  int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&target, sizeof(target)) != 0) {
    close(s);
    return -1;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(s, buf, sizeof(buf))) > 0) {
  }
  close(s);
  return n == 0 ? 0 : -1;
}

static void *worker(void *unused) {
  (void)unused;
  while (atomic_fetch_sub(&remaining, 1) > 0) {
    if (one_connection() != 0) atomic_fetch_add(&failed, 1);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s ADDR PORT COUNT CONCURRENCY\n", argv[0]);
    return 2;
  }
  memset(&target, 0, sizeof(target));
  target.sin6_family = AF_INET6;
  target.sin6_port = htons((unsigned short)atoi(argv[2]));
  if (inet_pton(AF_INET6, argv[1], &target.sin6_addr) != 1) return 2;
  int count = atoi(argv[3]), threads = atoi(argv[4]);
  if (count <= 0 || threads <= 0 || threads > 1024) return 2;
  atomic_store(&remaining, count);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t *ids = calloc((size_t)threads, sizeof(pthread_t));
  for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, worker, NULL);
  for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("{\"connections\":%d,\"failed\":%d,\"seconds\":%.4f,\"perSecond\":%.1f}\n", count,
         atomic_load(&failed), seconds, count / seconds);
  free(ids);
  return 0;
}
