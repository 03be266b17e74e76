/* The one clock the benchmark's C programs time with: the load generator's connect and first
 * byte, and the receiver's arrivals, are compared across processes (bench/latency-breakdown.ts),
 * so they must read the same clock the same way. */
#ifndef BENCH_MONOTONIC_CLOCK_H
#define BENCH_MONOTONIC_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
