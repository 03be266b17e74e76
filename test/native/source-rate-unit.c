/* The --source-rate table (native/server/source_rate.c) on its own, with the clock given
 * by the test: which sources share a bucket (IPv6 and IPv4 prefixes), the token arithmetic
 * (burst, refill, cap, decimal rates, a clock read late by another loop), which source a
 * full shard forgets (the least recently seen, not the oldest added), and the refusals of
 * a bad configuration; and that the keyed hash is SipHash-2-4. Built with ASan/UBSan and
 * run by test/native-source-rate.test.ts; prints one JSON line of figures, or {"error":...}
 * and exits 1. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "harness_util.h"
#include "server/keyed_hash.h"
#include "server/source_rate.h"

#define SECOND 1000000ull /* µs */

typedef struct {
  uint64_t added, evicted;
} books;

static books totals;

static void address(const char *text, uint8_t out[16]) {
  if (inet_pton(AF_INET6, text, out) == 1) return;
  struct in_addr v4;
  CHECK(inet_pton(AF_INET, text, &v4) == 1, "a test address does not parse");
  memset(out, 0, 10);
  out[10] = out[11] = 0xff; /* as the loop sees an IPv4 client: ::ffff:a.b.c.d */
  memcpy(out + 12, &v4, 4);
}

static int admit(skbox_source_rate *T, const char *source, uint64_t now_us) {
  uint8_t a[16];
  address(source, a);
  skbox_source_rate_change change;
  int admitted = skbox_source_rate_admit(T, a, now_us, &change);
  totals.added += (uint64_t)change.added;
  totals.evicted += (uint64_t)change.evicted;
  return admitted;
}

/* How many of n connections at one instant get through. */
static int admitted_of(skbox_source_rate *T, const char *source, uint64_t now_us, int n) {
  int got = 0;
  for (int i = 0; i < n; i++) got += admit(T, source, now_us);
  return got;
}

static skbox_source_rate *create(uint64_t rate_milli, uint32_t burst, uint32_t v6, uint32_t v4, uint32_t entries,
                                 uint32_t shards) {
  skbox_source_rate_config cfg = {
      .rate_milli = rate_milli, .burst = burst, .prefix_v6 = v6, .prefix_v4 = v4, .entries = entries, .shards = shards};
  const char *why = "";
  skbox_source_rate *T = skbox_source_rate_create(&cfg, &why);
  CHECK(T != NULL, "a valid configuration was refused");
  return T;
}

static void prefixes(void) {
  skbox_source_rate *T = create(1000, 2, 64, 24, 64, 1); /* 1 per s, burst 2; /64 and /24 */
  uint64_t t0 = 5 * SECOND;
  CHECK(admitted_of(T, "fd00:1::5", t0, 1) == 1 && admitted_of(T, "fd00:1::ffff:6", t0, 5) == 1,
        "two addresses of one /64 do not share a bucket");
  CHECK(admitted_of(T, "fd00:1:0:1::5", t0, 5) == 2, "the next /64 does not have a bucket of its own");
  CHECK(admitted_of(T, "192.0.2.1", t0, 1) == 1 && admitted_of(T, "192.0.2.200", t0, 5) == 1,
        "two addresses of one IPv4 /24 do not share a bucket");
  CHECK(admitted_of(T, "192.0.3.1", t0, 5) == 2, "the next /24 does not have a bucket of its own");
  /* An IPv4 /24 is the mapped address's first 120 bits: it never groups with IPv6 sources. */
  CHECK(admitted_of(T, "::ffff:c000:2ff", t0, 1) == 0, "the mapped form is the same source as 192.0.2.255");
  CHECK(skbox_source_rate_held(T) == 4, "four buckets");
  skbox_source_rate_free(T);
}

static void tokens(void) {
  skbox_source_rate *T = create(100000, 50, 64, 32, 64, 1); /* 100 per s, burst 50 */
  uint64_t t0 = 10 * SECOND;
  CHECK(admitted_of(T, "fd00::1", t0, 80) == 50, "a new source gets exactly its burst");
  CHECK(admitted_of(T, "fd00::1", t0 + SECOND / 10, 80) == 10, "0.1 s later: 10 more at 100 per s");
  CHECK(admitted_of(T, "fd00::1", t0 + SECOND / 10 + 9999, 5) == 0, "9.999 ms later: not yet one token");
  CHECK(admitted_of(T, "fd00::1", t0 + SECOND / 10 + 10000, 5) == 1, "10 ms later: one token");
  /* Another loop read the clock before this one and arrives second: no refill, no underflow. */
  CHECK(admitted_of(T, "fd00::1", t0, 5) == 0, "a clock read earlier gave tokens");
  CHECK(admitted_of(T, "fd00::1", t0 + 3600 * SECOND, 80) == 50, "after an hour idle: full, never more than the burst");
  skbox_source_rate_free(T);

  skbox_source_rate *slow = create(500, 1, 64, 32, 64, 1); /* 0.5 per s: one every 2 s */
  CHECK(admitted_of(slow, "fd00::2", t0, 3) == 1, "burst 1");
  CHECK(admitted_of(slow, "fd00::2", t0 + 1999999, 1) == 0, "a decimal rate refilled early");
  CHECK(admitted_of(slow, "fd00::2", t0 + 2 * SECOND, 1) == 1, "0.5 per s: one token after 2 s");
  skbox_source_rate_free(slow);

  skbox_source_rate *fast = create(SKBOX_SOURCE_RATE_MAX_RATE_MILLI, SKBOX_SOURCE_RATE_MAX_BURST, 128, 32, 16, 1);
  CHECK(admitted_of(fast, "fd00::3", t0, 1000) == 1000, "the largest rate and burst");
  CHECK(admitted_of(fast, "fd00::3", UINT64_MAX / 2, 1) == 1, "a huge gap does not overflow");
  skbox_source_rate_free(fast);
}

/* One shard of 4: the source forgotten is the one seen least recently. */
static void eviction(void) {
  skbox_source_rate *T = create(1000, 1, 128, 32, 4, 1);
  const char *s[6] = {"fd00::a", "fd00::b", "fd00::c", "fd00::d", "fd00::e", "fd00::f"};
  uint64_t t0 = SECOND;
  /* Each comment: the shard's sources after the step, least recently seen first. */
  for (int i = 0; i < 4; i++) CHECK(admit(T, s[i], t0) == 1, "a new source was refused"); /* a b c d */
  CHECK(admit(T, s[0], t0) == 0, "a remembered source's bucket is not empty");            /* b c d a */
  CHECK(admit(T, s[4], t0) == 1, "a fifth source was refused");                           /* c d a e: b out */
  CHECK(admit(T, s[0], t0) == 0, "the most recently seen source was forgotten");          /* c d e a */
  CHECK(admit(T, s[1], t0) == 1, "b, forgotten, did not come back with a full bucket");   /* d e a b: c out */
  CHECK(admit(T, s[3], t0) == 0, "d was forgotten before c");                             /* e a b d */
  CHECK(admit(T, s[5], t0) == 1, "a sixth source was refused");                           /* a b d f: e out */
  CHECK(admit(T, s[2], t0) == 1, "c, forgotten, did not come back with a full bucket");   /* b d f c: a out */
  CHECK(skbox_source_rate_held(T) == 4, "the table holds more than its size");
  skbox_source_rate_free(T);
}

static void bad_configurations(void) {
  const skbox_source_rate_config good = {
      .rate_milli = 1000, .burst = 1, .prefix_v6 = 64, .prefix_v4 = 32, .entries = 64, .shards = 4};
  skbox_source_rate_config bad[8];
  for (int i = 0; i < 8; i++) bad[i] = good;
  bad[0].rate_milli = 0;
  bad[1].rate_milli = SKBOX_SOURCE_RATE_MAX_RATE_MILLI + 1ull;
  bad[2].burst = 0;
  bad[3].burst = SKBOX_SOURCE_RATE_MAX_BURST + 1u;
  bad[4].prefix_v6 = 129;
  bad[5].prefix_v4 = 33;
  bad[6].shards = 3;   /* not a power of two */
  bad[7].entries = 66; /* not a multiple of the shards */
  for (int i = 0; i < 8; i++) {
    const char *why = NULL;
    CHECK(skbox_source_rate_create(&bad[i], &why) == NULL && why != NULL, "a bad configuration was taken");
  }
}

/* The reference's test vector: key 00..0f, message 00..0f (vectors_sip64[16] of SipHash's reference code). */
static void siphash_vector(void) {
  skbox_hash_key key = {.k0 = 0x0706050403020100ull, .k1 = 0x0f0e0d0c0b0a0908ull};
  uint8_t in[16];
  for (int i = 0; i < 16; i++) in[i] = (uint8_t)i;
  CHECK(skbox_keyed_hash16(&key, in) == 0x3f2acc7f57c29bdbull, "the keyed hash is not SipHash-2-4");
}

int main(void) {
  siphash_vector();
  prefixes();
  tokens();
  eviction();
  bad_configurations();
  printf("{\"added\":%llu,\"evicted\":%llu}\n", (unsigned long long)totals.added, (unsigned long long)totals.evicted);
  return 0;
}
