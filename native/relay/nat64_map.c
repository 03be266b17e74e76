#include "nat64_map.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

int skbox_relay_nat64_in_prefix(const uint8_t prefix[16], int wide, const uint8_t local[16]) {
  return memcmp(prefix, local, wide ? 8 : 12) == 0;
}

int skbox_relay_nat64_tcp_target(const struct sockaddr_in6 *base, const uint8_t prefix[16], int wide,
                                 const uint8_t local[16], uint16_t local_port, struct sockaddr_in6 *out) {
  if (!skbox_relay_nat64_in_prefix(prefix, wide, local)) return -1;
  *out = *base;
  uint8_t *dst = out->sin6_addr.s6_addr;
  if (wide) memcpy(dst + 8, local + 8, 4);
  memcpy(dst + 12, local + 12, 4);
  if (base->sin6_port == 0) out->sin6_port = htons(local_port);
  return 0;
}

int skbox_relay_nat64_unix_path(const char *base, const uint8_t prefix[16], const uint8_t local[16], char *out,
                                size_t size) {
  if (!skbox_relay_nat64_in_prefix(prefix, 0, local)) return -1;
  uint32_t last = ((uint32_t)local[12] << 24) | ((uint32_t)local[13] << 16) | ((uint32_t)local[14] << 8) | local[15];
  int n = snprintf(out, size, "%s-%08x", base, (unsigned)last);
  return n < 0 || (size_t)n >= size ? -1 : 0;
}
