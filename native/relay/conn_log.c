#include "conn_log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_BYTES 512

skbox_log_sink *skbox_relay_log_sink_open(int fd) {
  return skbox_log_sink_open(fd, "socketbox-relay: ");
}

static void write_line(skbox_log_sink *log, char *line, int formatted) {
  /* A full or closed log never stops relaying: the sink drops and counts what it cannot take. */
  skbox_log_sink_write(log, line, skbox_log_line_length(line, LINE_MAX_BYTES, formatted));
}

void skbox_relay_log_connection(skbox_log_sink *log, const struct skbox_relay_endpoint *remote,
                                const struct skbox_relay_endpoint *local) {
  if (!log) return;
  char r[SKBOX_RELAY_ENDPOINT_TEXT_MAX], l[SKBOX_RELAY_ENDPOINT_TEXT_MAX], line[LINE_MAX_BYTES];
  skbox_relay_endpoint_format(remote, r, sizeof(r));
  skbox_relay_endpoint_format(local, l, sizeof(l));
  write_line(log, line, snprintf(line, sizeof(line), "%lu %s -> %s\n", (unsigned long)time(NULL), r, l));
}

void skbox_relay_log_problem(skbox_log_sink *log, const struct skbox_relay_endpoint *remote,
                             const struct skbox_relay_endpoint *local, const char *what, int err) {
  if (!log) return;
  char r[SKBOX_RELAY_ENDPOINT_TEXT_MAX], l[SKBOX_RELAY_ENDPOINT_TEXT_MAX], line[LINE_MAX_BYTES];
  skbox_relay_endpoint_format(remote, r, sizeof(r));
  skbox_relay_endpoint_format(local, l, sizeof(l));
  write_line(log, line,
             snprintf(line, sizeof(line), "socketbox-relay: %s -> %s: %s%s%s\n", r, l, what, err ? ": " : "",
                      err ? strerror(err) : ""));
}

void skbox_relay_log_message(skbox_log_sink *log, const char *what, int err) {
  if (!log) return;
  char line[LINE_MAX_BYTES];
  write_line(log, line,
             snprintf(line, sizeof(line), "socketbox-relay: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : ""));
}
