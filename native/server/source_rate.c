#include "server/source_rate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "server/keyed_hash.h"

#define NANO_PER_CONNECTION 1000000000ull /* tokens are counted in nano-connections */
#define NO_ENTRY 0                        /* entries are referenced from 1, so zeroed memory is empty */
#define MAX_SHARDS 256                    /* the shard takes the hash's low 8 bits at most */
#define MAX_ENTRIES_PER_SHARD (1u << 24)  /* the chain takes the next 24 */

typedef struct {
  uint8_t prefix[16];   /* the source with the bits past its prefix length cleared */
  uint64_t tokens;      /* nano-connections in the bucket */
  uint64_t refilled_us; /* tokens are up to date as of this time */
  uint32_t chain;       /* which hash chain holds it */
  uint32_t chain_next;
  uint32_t newer, older; /* the shard's recency list */
} bucket;

typedef struct {
  _Alignas(64) pthread_mutex_t lock; /* one cache line per shard: loops on other shards never share it */
  bucket *entries;                   /* capacity of them, referenced from 1 */
  uint32_t *chains;                  /* chain_mask + 1 heads */
  uint32_t capacity, used, chain_mask;
  uint32_t newest, oldest;
} shard;

struct skbox_source_rate {
  skbox_hash_key key;
  uint64_t rate_milli;
  uint64_t full;          /* a full bucket, in nano-connections */
  uint64_t full_after_us; /* an idle bucket is full again after this long, whatever it held */
  uint8_t mask_v6[16], mask_v4[16];
  uint32_t n_shards;
  shard *shards;
  bucket *entries; /* every shard's, in one allocation */
  uint32_t *chains;
};

static uint32_t chains_per_shard(uint32_t capacity) {
  uint32_t n = 1;
  while (n < capacity) n <<= 1;
  return n;
}

size_t skbox_source_rate_bytes(const skbox_source_rate_config *cfg) {
  uint32_t per_shard = cfg->shards ? cfg->entries / cfg->shards : 0;
  return sizeof(struct skbox_source_rate) + (size_t)cfg->shards * sizeof(shard) + (size_t)cfg->entries * sizeof(bucket) +
         (size_t)cfg->shards * chains_per_shard(per_shard) * sizeof(uint32_t);
}

static const char *config_problem(const skbox_source_rate_config *c) {
  if (c->rate_milli == 0 || c->rate_milli > SKBOX_SOURCE_RATE_MAX_RATE_MILLI) return "the rate is out of range";
  if (c->burst == 0 || c->burst > SKBOX_SOURCE_RATE_MAX_BURST) return "the burst is out of range";
  if (c->prefix_v6 > 128 || c->prefix_v4 > 32) return "a prefix length is out of range";
  if (c->shards == 0 || c->shards > MAX_SHARDS || (c->shards & (c->shards - 1)))
    return "the shards are not a power of two up to 256";
  if (c->entries == 0 || c->entries % c->shards || c->entries / c->shards > MAX_ENTRIES_PER_SHARD)
    return "the table size does not fit the shards";
  return NULL;
}

/* The first `bits` bits set, from the first byte on. */
static void prefix_mask(uint8_t mask[16], uint32_t bits) {
  for (uint32_t i = 0; i < 16; i++) {
    uint32_t here = bits > 8 * i ? bits - 8 * i : 0;
    mask[i] = here >= 8 ? 0xff : (uint8_t)(0xff00 >> here);
  }
}

skbox_source_rate *skbox_source_rate_create(const skbox_source_rate_config *cfg, const char **why) {
  if ((*why = config_problem(cfg))) return NULL;
  skbox_source_rate *T = calloc(1, sizeof *T);
  uint32_t per_shard = cfg->entries / cfg->shards, n_chains = chains_per_shard(per_shard);
  /* calloc: the pages of the table are touched only as sources arrive */
  if (T) {
    T->shards = aligned_alloc(_Alignof(shard), cfg->shards * sizeof(shard));
    T->entries = calloc(cfg->entries, sizeof(bucket));
    T->chains = calloc((size_t)cfg->shards * n_chains, sizeof(uint32_t));
  }
  if (!T || !T->shards || !T->entries || !T->chains) {
    *why = "out of memory for the source rate table";
    if (T) {
      free(T->shards);
      free(T->entries);
      free(T->chains);
    }
    free(T);
    return NULL;
  }
  if (skbox_hash_key_random(&T->key) < 0) {
    *why = "getrandom failed: no key for the source rate table";
    skbox_source_rate_free(T);
    return NULL;
  }
  T->rate_milli = cfg->rate_milli;
  T->full = (uint64_t)cfg->burst * NANO_PER_CONNECTION;
  T->full_after_us = (T->full + cfg->rate_milli - 1) /
                     cfg->rate_milli; /* nano-connections / (milli-connections/s) = µs */
  prefix_mask(T->mask_v6, cfg->prefix_v6);
  prefix_mask(T->mask_v4, 96 + cfg->prefix_v4);
  for (uint32_t i = 0; i < cfg->shards; i++) {
    shard *s = &T->shards[i];
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->entries = T->entries + (size_t)i * per_shard;
    s->chains = T->chains + (size_t)i * n_chains;
    s->capacity = per_shard;
    s->chain_mask = n_chains - 1;
  }
  T->n_shards = cfg->shards;
  return T;
}

void skbox_source_rate_free(skbox_source_rate *T) {
  if (!T) return;
  for (uint32_t i = 0; i < T->n_shards; i++) pthread_mutex_destroy(&T->shards[i].lock);
  free(T->shards);
  free(T->entries);
  free(T->chains);
  free(T);
}

static bucket *at(shard *s, uint32_t ref) {
  return &s->entries[ref - 1];
}

static void forget_recency(shard *s, uint32_t ref) {
  bucket *b = at(s, ref);
  if (b->newer) at(s, b->newer)->older = b->older;
  else s->newest = b->older;
  if (b->older) at(s, b->older)->newer = b->newer;
  else s->oldest = b->newer;
  b->newer = b->older = NO_ENTRY;
}

static void make_newest(shard *s, uint32_t ref) {
  bucket *b = at(s, ref);
  b->older = s->newest;
  b->newer = NO_ENTRY;
  if (s->newest) at(s, s->newest)->newer = ref;
  s->newest = ref;
  if (!s->oldest) s->oldest = ref;
}

static void unchain(shard *s, uint32_t ref) {
  uint32_t *link = &s->chains[at(s, ref)->chain];
  while (*link != ref) link = &at(s, *link)->chain_next;
  *link = at(s, ref)->chain_next;
}

/* A free entry while there is one; then the least recently seen source's. */
static uint32_t claim_entry(shard *s, skbox_source_rate_change *change) {
  if (s->used < s->capacity) {
    change->added = 1;
    return ++s->used;
  }
  uint32_t ref = s->oldest;
  forget_recency(s, ref);
  unchain(s, ref);
  change->evicted = 1;
  return ref;
}

static void refill(const skbox_source_rate *T, bucket *b, uint64_t now_us) {
  if (now_us <= b->refilled_us) return; /* another loop read the clock later and got here first */
  uint64_t elapsed = now_us - b->refilled_us;
  /* elapsed < full_after_us keeps the product below full + rate_milli: no overflow */
  b->tokens = elapsed >= T->full_after_us ? T->full : b->tokens + elapsed * T->rate_milli;
  if (b->tokens > T->full) b->tokens = T->full;
  b->refilled_us = now_us;
}

static int is_ipv4_mapped(const uint8_t a[16]) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return memcmp(a, mapped, sizeof mapped) == 0;
}

int skbox_source_rate_admit(skbox_source_rate *T, const uint8_t addr[16], uint64_t now_us,
                            skbox_source_rate_change *change) {
  *change = (skbox_source_rate_change){0, 0};
  const uint8_t *mask = is_ipv4_mapped(addr) ? T->mask_v4 : T->mask_v6;
  uint8_t prefix[16];
  for (int i = 0; i < 16; i++) prefix[i] = addr[i] & mask[i];
  uint64_t h = skbox_keyed_hash16(&T->key, prefix);
  shard *s = &T->shards[h & (T->n_shards - 1)];
  uint32_t chain = (uint32_t)(h >> 8) & s->chain_mask;

  pthread_mutex_lock(&s->lock);
  uint32_t ref = s->chains[chain];
  while (ref && memcmp(at(s, ref)->prefix, prefix, sizeof prefix) != 0) ref = at(s, ref)->chain_next;
  if (ref) {
    refill(T, at(s, ref), now_us);
    if (s->newest != ref) {
      forget_recency(s, ref);
      make_newest(s, ref);
    }
  } else {
    ref = claim_entry(s, change);
    bucket *b = at(s, ref);
    memcpy(b->prefix, prefix, sizeof prefix);
    b->tokens = T->full; /* a source not seen (or forgotten) starts with a full bucket */
    b->refilled_us = now_us;
    b->chain = chain;
    b->chain_next = s->chains[chain];
    s->chains[chain] = ref;
    make_newest(s, ref);
  }
  bucket *b = at(s, ref);
  int admitted = b->tokens >= NANO_PER_CONNECTION;
  if (admitted) b->tokens -= NANO_PER_CONNECTION;
  pthread_mutex_unlock(&s->lock);
  return admitted;
}

uint32_t skbox_source_rate_held(skbox_source_rate *T) {
  uint32_t held = 0;
  for (uint32_t i = 0; i < T->n_shards; i++) {
    pthread_mutex_lock(&T->shards[i].lock);
    held += T->shards[i].used;
    pthread_mutex_unlock(&T->shards[i].lock);
  }
  return held;
}
