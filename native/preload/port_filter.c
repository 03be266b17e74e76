#include "port_filter.h"

#include <string.h>

/* Reads a decimal number 0..65535 at *P, advancing *P. Returns -1 when there is none. */
static long read_port_number(const char **p) {
  const char *s = *p;
  long value = 0;
  if (*s < '0' || *s > '9') return -1;
  while (*s >= '0' && *s <= '9') {
    value = value * 10 + (*s - '0');
    if (value > 65535) return -1;
    s++;
  }
  *p = s;
  return value;
}

void skbox_port_filter_below(uint16_t n, struct skbox_port_filter *out) {
  memset(out, 0, sizeof(*out));
  if (n > 1) {
    out->count = 1;
    out->ranges[0].low = 1;
    out->ranges[0].high = (uint16_t)(n - 1);
  }
}

int skbox_port_filter_parse(const char *text, struct skbox_port_filter *out) {
  struct skbox_port_filter parsed;
  memset(&parsed, 0, sizeof(parsed));
  const char *p = text;
  while (*p != '\0') {
    long low = read_port_number(&p);
    if (low < 0) return -1;
    long high;
    if (*p == '-') {
      p++;
      high = read_port_number(&p);
      if (high < 0 || high < low) return -1;
    } else {
      /* A bare number N means "below N". */
      high = low - 1;
      low = 1;
    }
    if (low == 0) low = 1; /* port 0 never takes part */
    if (high >= low) {
      if (parsed.count == SKBOX_PORT_FILTER_MAX_RANGES) return -1;
      parsed.ranges[parsed.count].low = (uint16_t)low;
      parsed.ranges[parsed.count].high = (uint16_t)high;
      parsed.count++;
    }
    if (*p == ',') {
      p++;
      if (*p == '\0') return -1;
    } else if (*p != '\0') {
      return -1;
    }
  }
  *out = parsed;
  return 0;
}

int skbox_port_filter_matches(const struct skbox_port_filter *filter, uint16_t port) {
  for (unsigned i = 0; i < filter->count; i++) {
    if (port >= filter->ranges[i].low && port <= filter->ranges[i].high) return 1;
  }
  return 0;
}
