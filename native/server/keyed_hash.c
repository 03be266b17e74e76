#include "server/keyed_hash.h"

#include <errno.h>
#include <sys/random.h>

static uint64_t rotl(uint64_t x, int bits) {
  return (x << bits) | (x >> (64 - bits));
}

static uint64_t little_endian64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

int skbox_hash_key_random(skbox_hash_key *key) {
  uint8_t bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  key->k0 = little_endian64(bytes);
  key->k1 = little_endian64(bytes + 8);
  return 0;
}

#define SIP_ROUND(v) \
  do { \
    v[0] += v[1]; \
    v[1] = rotl(v[1], 13) ^ v[0]; \
    v[0] = rotl(v[0], 32); \
    v[2] += v[3]; \
    v[3] = rotl(v[3], 16) ^ v[2]; \
    v[0] += v[3]; \
    v[3] = rotl(v[3], 21) ^ v[0]; \
    v[2] += v[1]; \
    v[1] = rotl(v[1], 17) ^ v[2]; \
    v[2] = rotl(v[2], 32); \
  } while (0)

uint64_t skbox_keyed_hash16(const skbox_hash_key *key, const uint8_t in[16]) {
  uint64_t v[4] = {key->k0 ^ 0x736f6d6570736575ull, key->k1 ^ 0x646f72616e646f6dull, key->k0 ^ 0x6c7967656e657261ull,
                   key->k1 ^ 0x7465646279746573ull};
  /* Two message words, then the final word: the length (16) in its top byte. */
  const uint64_t words[3] = {little_endian64(in), little_endian64(in + 8), (uint64_t)16 << 56};
  for (int i = 0; i < 3; i++) {
    v[3] ^= words[i];
    SIP_ROUND(v);
    SIP_ROUND(v);
    v[0] ^= words[i];
  }
  v[2] ^= 0xff;
  for (int i = 0; i < 4; i++) SIP_ROUND(v);
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}
