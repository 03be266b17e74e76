/* A keyed hash of 16 bytes (an IPv6 address): SipHash-2-4. With a secret random key, a
 * client that picks its addresses cannot make them collide on purpose, so hash tables
 * keyed by client addresses keep short chains whatever arrives. */
#ifndef SKBOX_SERVER_KEYED_HASH_H
#define SKBOX_SERVER_KEYED_HASH_H

#include <stdint.h>

typedef struct {
  uint64_t k0, k1;
} skbox_hash_key;

/* A fresh secret key from getrandom: 0, or -1 with errno set. */
int skbox_hash_key_random(skbox_hash_key *key);

/* SipHash-2-4 of the 16 bytes in under key (the reference's 64-bit output). */
uint64_t skbox_keyed_hash16(const skbox_hash_key *key, const uint8_t in[16]);

#endif
