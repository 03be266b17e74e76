/* Per-loop counters, written only by the loop's own thread with relaxed
 * atomics into memory the JavaScript side shares (a SharedArrayBuffer) and
 * reads when metrics are scraped. The order is part of the JS contract:
 * src/server/stats-layout.ts mirrors it. */
#ifndef SKBOX_STATS_H
#define SKBOX_STATS_H

#include <stdint.h>

enum skbox_stat {
  SKBOX_STAT_ACCEPTED = 0,
  SKBOX_STAT_DELIVERED,
  SKBOX_STAT_REFUSED_NO_MATCH,
  SKBOX_STAT_REFUSED_FAIL,
  SKBOX_STAT_REFUSED_LOOP,
  SKBOX_STAT_REFUSED_TARGET_MISSING,
  SKBOX_STAT_REFUSED_TIMEOUT,
  SKBOX_STAT_REFUSED_QUEUE_FULL,
  SKBOX_STAT_REFUSED_SEND_ERROR,
  SKBOX_STAT_REFUSED_DRAINING,
  SKBOX_STAT_PENDING,          /* gauge: connections waiting for a full receiver */
  SKBOX_STAT_ACCEPT_ERRORS,    /* accept failures of any kind */
  SKBOX_STAT_ACCEPT_PAUSES,    /* times intake paused for lack of descriptors */
  SKBOX_STAT_TABLES_ADOPTED,
  SKBOX_STAT_PONGS,            /* control wake-ups answered: the loop is alive */
  SKBOX_STAT_LATENCY_SUM_US,   /* accept -> handed over, summed */
  SKBOX_STAT_LATENCY_BUCKETS,  /* SKBOX_LATENCY_BUCKETS cumulative-free counts, see below */
  SKBOX_STAT_ACCEPT_ERRNO = SKBOX_STAT_LATENCY_BUCKETS + 17, /* one counter per errno < 128 */
  SKBOX_STAT_REFUSED_OUTSIDE_ROOT = SKBOX_STAT_ACCEPT_ERRNO + 128, /* --target-root refused the path */
  SKBOX_STAT_REFUSED_NO_RECEIVER, /* a registration slot with nobody registered (JSON config) */
  SKBOX_STAT_UPSTREAM_RECEIVED,   /* -P: TCP connections received from the upstream server */
  SKBOX_STAT_UPSTREAM_INVALID,    /* -P: received descriptors refused as not a TCP socket */
  SKBOX_STAT_COUNT
};

/* Upper bounds (µs) of the dispatch latency buckets; the last bucket is +Inf. */
#define SKBOX_LATENCY_BUCKETS 17
static const uint32_t skbox_latency_bounds_us[SKBOX_LATENCY_BUCKETS - 1] = {
    10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};

/* Per-target counters, in a second shared block: two per slot. Slots are
 * assigned by the JavaScript side, one per target as named in the config. */
#define SKBOX_TARGET_SLOTS 4096
#define SKBOX_TARGET_DELIVERED(slot) ((slot) * 2)
#define SKBOX_TARGET_PENDING(slot) ((slot) * 2 + 1)

static inline void skbox_stat_add(uint64_t *stats, unsigned s, int64_t n) {
  __atomic_fetch_add(&stats[s], (uint64_t)n, __ATOMIC_RELAXED);
}

static inline void skbox_stat_latency(uint64_t *stats, uint64_t us) {
  unsigned b = 0;
  while (b < SKBOX_LATENCY_BUCKETS - 1 && us > skbox_latency_bounds_us[b]) b++;
  skbox_stat_add(stats, SKBOX_STAT_LATENCY_BUCKETS + b, 1);
  skbox_stat_add(stats, SKBOX_STAT_LATENCY_SUM_US, (int64_t)us);
}

#endif
