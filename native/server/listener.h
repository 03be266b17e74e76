/* Creating the TCP listening socket with its options (-t -F -R -r, or a JSON listener's). */
#ifndef SKBOX_LISTENER_H
#define SKBOX_LISTENER_H

#include <stdint.h>

typedef struct {
  uint8_t addr[16]; /* IPv6, network order */
  uint32_t scope_id;
  uint16_t port;
  int transparent, freebind, reuseaddr, reuseport;
} skbox_listener_options;

/* Returns a bound (not yet listening) non-blocking, close-on-exec socket,
 * or -1 with errno set and *step naming the call that failed. */
int skbox_listener_bind(const skbox_listener_options *o, const char **step);

/* Checks that fd is a TCP stream socket we can accept on, and makes it
 * non-blocking. Returns 0, or -1 with *why set. */
int skbox_listener_adopt(int fd, const char **why);

#endif
