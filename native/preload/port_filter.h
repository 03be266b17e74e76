/* Which ports a magic bind applies to (SKBOX_PORT_FILTER_*).
 *
 * A filter value is a comma-separated list of items:
 *   N        ports 1 .. N-1 ("below N"; 0 matches nothing)
 *   LO-HI    ports LO .. HI inclusive
 * An empty value matches nothing. Port 0 never matches: a magic bind needs a real port. */
#ifndef SKBOX_PRELOAD_PORT_FILTER_H
#define SKBOX_PRELOAD_PORT_FILTER_H

#include <stdint.h>

#define SKBOX_PORT_FILTER_MAX_RANGES 16

struct skbox_port_filter {
  unsigned count;
  struct {
    uint16_t low, high;
  } ranges[SKBOX_PORT_FILTER_MAX_RANGES];
};

/* Parses TEXT into *OUT. Returns 0, or -1 (OUT untouched) when TEXT is malformed. */
int skbox_port_filter_parse(const char *text, struct skbox_port_filter *out);

/* The filter "below N". */
void skbox_port_filter_below(uint16_t n, struct skbox_port_filter *out);

int skbox_port_filter_matches(const struct skbox_port_filter *filter, uint16_t port);

#endif
