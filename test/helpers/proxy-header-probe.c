/* Builds PROXY headers with native/relay/proxy_header.c for test/relay-proxy.test.ts and
 * prints one line per header, "v1 RESULT HEX": RESULT is what the builder returned (the
 * length; -1 = refused) and HEX the bytes it reported. The endpoints make the longest
 * headers there are: addresses of 39 characters (eight groups of four hex digits) and
 * five-digit ports. Under inet-ntop-override the address text is widened or fails. */
#include <stdio.h>
#include <string.h>

#include "relay/proxy_header.h"

static void show(const char *name, enum skbox_relay_proxy_header kind, const struct skbox_relay_endpoint *client,
                 const struct skbox_relay_endpoint *local) {
  unsigned char out[SKBOX_RELAY_PROXY_HEADER_MAX];
  memset(out, 0, sizeof(out));
  long n = (long)skbox_relay_proxy_header(kind, client, local, out);
  printf("%s %ld ", name, n);
  for (long i = 0; i < n && i < SKBOX_RELAY_PROXY_HEADER_MAX; i++) printf("%02x", out[i]);
  printf("\n");
}

int main(void) {
  struct skbox_relay_endpoint client = {
      .addr = {0xfd, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xc8, 0xc8, 0xc8, 0xc8},
      .port = 65534,
      .is_ip = 1,
  };
  struct skbox_relay_endpoint local = {
      .addr = {0xfd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xc8, 0xc8, 0xc8, 0xc9},
      .port = 65535,
      .is_ip = 1,
  };
  show("v1", SKBOX_RELAY_PROXY_V1, &client, &local);
  show("v2", SKBOX_RELAY_PROXY_V2, &client, &local);
  return 0;
}
