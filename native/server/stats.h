/* Per-loop counters, written only by the loop's own thread with relaxed
 * atomics into memory the JavaScript side shares (a SharedArrayBuffer) and
 * reads when metrics are scraped.
 *
 * The lists below are the one home of this layout and of the names operators
 * see. The C enums are expanded from them here; scripts/native-contracts.js
 * reads the same lists at build time and writes the TypeScript side
 * (src/native/contracts.generated.ts: STAT, REFUSAL_REASONS, ...). The addon
 * exports what it was compiled with (native/contract_bindings.cc), and
 * test/native-contracts.test.ts fails when the two sides disagree. Keep one
 * X(...) entry per line: the generator reads them as text. */
#ifndef SKBOX_STATS_H
#define SKBOX_STATS_H

#include <stdint.h>

/* Upper bounds (µs) of the dispatch latency buckets; one more bucket is +Inf. */
#define SKBOX_LATENCY_BOUNDS_US(X) \
  X(10) \
  X(25) \
  X(50) \
  X(100) \
  X(250) \
  X(500) \
  X(1000) \
  X(2500) \
  X(5000) \
  X(10000) \
  X(25000) \
  X(50000) \
  X(100000) \
  X(250000) \
  X(500000) \
  X(1000000)

#define SKBOX_LATENCY_BUCKETS 17        /* the bounds above, and +Inf */
#define SKBOX_ACCEPT_ERRNO_COUNTERS 128 /* one per errno below 128; larger ones count in the first */

/* X(NAME, OUTCOME, LABEL, WIDTH): SKBOX_STAT_<NAME> is the index of the first of
 * WIDTH counters. OUTCOME is how a connection counted there ended: DELIVERED,
 * REFUSED (LABEL is then the reason operators see, in
 * socketbox_connections_refused_total{reason} and as the access log's outcome),
 * or NONE for counters that are not an outcome. */
#define SKBOX_STAT_LIST(X) \
  X(ACCEPTED, NONE, "", 1) \
  X(DELIVERED, DELIVERED, "delivered", 1) \
  X(REFUSED_NO_MATCH, REFUSED, "no_match", 1) \
  X(REFUSED_FAIL, REFUSED, "fail", 1) \
  X(REFUSED_LOOP, REFUSED, "loop", 1) \
  X(REFUSED_TARGET_MISSING, REFUSED, "target_missing", 1) \
  X(REFUSED_TIMEOUT, REFUSED, "timeout", 1) \
  X(REFUSED_QUEUE_FULL, REFUSED, "queue_full", 1) \
  X(REFUSED_SEND_ERROR, REFUSED, "send_error", 1) \
  X(REFUSED_DRAINING, REFUSED, "draining", 1) \
  X(PENDING, NONE, "", 1)       /* gauge: connections waiting for a full receiver */ \
  X(ACCEPT_ERRORS, NONE, "", 1) /* accept failures of any kind */ \
  X(ACCEPT_PAUSES, NONE, "", 1) /* times intake paused for lack of descriptors */ \
  X(TABLES_ADOPTED, NONE, "", 1) \
  X(PONGS, NONE, "", 1)                                  /* control wake-ups answered: the loop is alive */ \
  X(LATENCY_SUM_US, NONE, "", 1)                         /* accept -> handed over, summed */ \
  X(LATENCY_BUCKETS, NONE, "", SKBOX_LATENCY_BUCKETS)    /* a count per bucket */ \
  X(ACCEPT_ERRNO, NONE, "", SKBOX_ACCEPT_ERRNO_COUNTERS) /* accept failures by errno */ \
  X(REFUSED_OUTSIDE_ROOT, REFUSED, "outside_root", 1)    /* --target-root refused the path */ \
  X(REFUSED_NO_RECEIVER, REFUSED, "no_receiver", 1)      /* a JSON slot nobody holds */ \
  X(UPSTREAM_RECEIVED, NONE, "", 1)                      /* -P: TCP connections received upstream */ \
  X(UPSTREAM_INVALID, NONE, "", 1)                       /* -P: received descriptors that were not TCP */ \
  X(REFUSED_RATE_LIMITED, REFUSED, "rate_limited", 1)    /* --source-rate: the source's bucket was empty */ \
  X(SOURCE_RATE_ENTRIES, NONE, "", 1)                    /* gauge: sources this loop added to the shared table */ \
  X(SOURCE_RATE_EVICTIONS, NONE, "", 1)                  /* sources this loop's arrivals pushed out of it */ \
  X(SCHED_SWITCHES, NONE, "", 1)                         /* --sched-policy adaptive: policy changes */

/* Each entry is its first index and the index of its last counter. */
#define SKBOX_STAT_ENUM_ENTRY(name, outcome, label, width) \
  SKBOX_STAT_##name, SKBOX_STAT_##name##_LAST = SKBOX_STAT_##name + (width)-1,
enum skbox_stat { SKBOX_STAT_LIST(SKBOX_STAT_ENUM_ENTRY) SKBOX_STAT_COUNT };
#undef SKBOX_STAT_ENUM_ENTRY

/* Per-target counters, in a second shared block: SKBOX_TARGET_STAT_COUNT per
 * slot. Slots are assigned by the JavaScript side, one per target as named in
 * the config. X(NAME). */
#define SKBOX_TARGET_SLOTS 4096
#define SKBOX_TARGET_STAT_LIST(X) \
  X(DELIVERED) \
  X(PENDING) /* gauge */ \
  X(REFUSED) /* refused after its target was chosen, for any reason */

#define SKBOX_TARGET_STAT_ENUM_ENTRY(name) SKBOX_TARGET_STAT_##name,
enum skbox_target_stat { SKBOX_TARGET_STAT_LIST(SKBOX_TARGET_STAT_ENUM_ENTRY) SKBOX_TARGET_STAT_COUNT };
#undef SKBOX_TARGET_STAT_ENUM_ENTRY

#define SKBOX_TARGET_DELIVERED(slot) ((slot)*SKBOX_TARGET_STAT_COUNT + SKBOX_TARGET_STAT_DELIVERED)
#define SKBOX_TARGET_PENDING(slot) ((slot)*SKBOX_TARGET_STAT_COUNT + SKBOX_TARGET_STAT_PENDING)
#define SKBOX_TARGET_REFUSED(slot) ((slot)*SKBOX_TARGET_STAT_COUNT + SKBOX_TARGET_STAT_REFUSED)

#define SKBOX_LATENCY_BOUND_ENTRY(us) us,
static const uint32_t skbox_latency_bounds_us[] = {SKBOX_LATENCY_BOUNDS_US(SKBOX_LATENCY_BOUND_ENTRY)};
#undef SKBOX_LATENCY_BOUND_ENTRY

/* The LABEL of a counter: an outcome's word for the access log and the metrics, "" for the others. */
const char *skbox_stat_label(enum skbox_stat s);

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
