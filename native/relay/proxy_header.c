#include "proxy_header.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const unsigned char v2_signature[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static int v1(const struct skbox_relay_endpoint *client, const struct skbox_relay_endpoint *local, unsigned char *out) {
  if (!client->is_ip || !local->is_ip) {
    memcpy(out, "PROXY UNKNOWN\r\n", 15);
    return 15;
  }
  char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
  if (skbox_relay_address_format(client->addr, src, sizeof(src)) != 0) return -1;
  if (skbox_relay_address_format(local->addr, dst, sizeof(dst)) != 0) return -1;
  int n = snprintf((char *)out, SKBOX_RELAY_PROXY_HEADER_MAX, "PROXY TCP6 %s %s %u %u\r\n", src, dst,
                   (unsigned)client->port, (unsigned)local->port);
  /* snprintf says how long the whole line is: as long as the buffer or longer, it was cut. */
  return n > 0 && n < SKBOX_RELAY_PROXY_HEADER_MAX ? n : -1;
}

static void put16(unsigned char *p, uint16_t v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

static int v2(const struct skbox_relay_endpoint *client, const struct skbox_relay_endpoint *local, unsigned char *out) {
  memcpy(out, v2_signature, sizeof(v2_signature));
  if (!client->is_ip || !local->is_ip) {
    out[12] = 0x20; /* version 2, LOCAL */
    out[13] = 0x00; /* AF_UNSPEC */
    put16(out + 14, 0);
    return 16;
  }
  out[12] = 0x21; /* version 2, PROXY */
  out[13] = 0x21; /* AF_INET6, STREAM */
  put16(out + 14, 36);
  memcpy(out + 16, client->addr, 16);
  memcpy(out + 32, local->addr, 16);
  put16(out + 48, client->port);
  put16(out + 50, local->port);
  return 52;
}

int skbox_relay_proxy_header(enum skbox_relay_proxy_header kind, const struct skbox_relay_endpoint *client,
                             const struct skbox_relay_endpoint *local, unsigned char *out) {
  switch (kind) {
    case SKBOX_RELAY_PROXY_V1: return v1(client, local, out);
    case SKBOX_RELAY_PROXY_V2: return v2(client, local, out);
    default: return 0;
  }
}
