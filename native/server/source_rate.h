/* Per-source rate limits (--source-rate RATE[:BURST][/PREFIXLEN[,PREFIXLEN4]]): a token
 * bucket per source prefix, kept in a table of fixed size that every accept loop of the
 * process shares, so a source's rate is the same whatever the number of workers.
 *
 * All memory is allocated at creation; an admission allocates nothing. When the table is
 * full, a source it does not hold takes the bucket of the least recently seen source
 * (evicted: that source starts again with a full bucket when it comes back). The table is
 * split into shards, each with its own lock, recency list and hash chains, chosen by a
 * keyed hash (SipHash-2-4, key from getrandom), so that no client can aim at one chain
 * or shard. Tokens are integers (nano-connections) refilled from CLOCK_MONOTONIC on use:
 * no floating point, no timer. */
#ifndef SKBOX_SERVER_SOURCE_RATE_H
#define SKBOX_SERVER_SOURCE_RATE_H

#include <stddef.h>
#include <stdint.h>

/* The table socketbox creates: sources remembered, for the whole process. */
#define SKBOX_SOURCE_RATE_ENTRIES 65536
#define SKBOX_SOURCE_RATE_SHARDS 16

/* Limits of the configuration (the flag parser enforces the same, through the generated
 * contracts): at most 1,000,000 connections per second (× 1000) and a burst of 1,000,000.
 * One number per #define: scripts/native-contracts.js reads them as text. */
#define SKBOX_SOURCE_RATE_MAX_RATE_MILLI 1000000000u
#define SKBOX_SOURCE_RATE_MAX_BURST 1000000u

typedef struct {
  uint64_t rate_milli; /* refill: connections per 1000 s, i.e. RATE × 1000 (RATE has up to 3 decimals) */
  uint32_t burst;      /* the bucket's size, in connections; a new source starts with it full */
  uint32_t prefix_v6;  /* leading bits of an IPv6 source that name its bucket, 0..128 */
  uint32_t prefix_v4;  /* the same for an IPv4 source (seen as ::ffff:a.b.c.d), 0..32 */
  uint32_t entries;    /* buckets in the table */
  uint32_t shards;     /* a power of two that divides entries */
} skbox_source_rate_config;

typedef struct skbox_source_rate skbox_source_rate;

/* What one admission did to the table, for the caller's counters. */
typedef struct {
  int added;   /* a free entry was taken: the table holds one source more */
  int evicted; /* the least recently seen source of a full shard was forgotten for this one */
} skbox_source_rate_change;

/* NULL with *why set when the configuration is out of range or memory is short. */
skbox_source_rate *skbox_source_rate_create(const skbox_source_rate_config *cfg, const char **why);

void skbox_source_rate_free(skbox_source_rate *table);

/* Any thread. addr: the source, 16 bytes (IPv4 as ::ffff:a.b.c.d); now_us: CLOCK_MONOTONIC.
 * Takes one token from the source's bucket: 1 if there was one (admit the connection), 0
 * if not (refuse it). */
int skbox_source_rate_admit(skbox_source_rate *table, const uint8_t addr[16], uint64_t now_us,
                            skbox_source_rate_change *change);

/* Sources held now (the sum over the shards; each shard is read under its lock). */
uint32_t skbox_source_rate_held(skbox_source_rate *table);

/* The memory a table of this configuration allocates, in bytes. */
size_t skbox_source_rate_bytes(const skbox_source_rate_config *cfg);

#endif
