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
  SKBOX_STAT_COUNT
};

static inline void skbox_stat_add(uint64_t *stats, enum skbox_stat s, int64_t n) {
  __atomic_fetch_add(&stats[s], (uint64_t)n, __ATOMIC_RELAXED);
}

#endif
