/* The relay's lines on its log (stderr): one per connection, as the original wrote it,
 * "TIME [remote]:port -> [local]:port" with TIME in seconds since the epoch, and one per
 * connection that could not be relayed, saying why. Written to a sink that never blocks
 * the relay: a line the log cannot take at once is dropped, and the next line that goes
 * out is preceded by one saying how many were (see skbox_relay_log_sink_open). A NULL sink
 * writes nothing. */
#ifndef SKBOX_RELAY_CONN_LOG_H
#define SKBOX_RELAY_CONN_LOG_H

#include "common/log_sink.h"
#include "endpoint.h"

/* The sink for the relay's lines on fd, with its "socketbox-relay: N log lines dropped" note. */
skbox_log_sink *skbox_relay_log_sink_open(int fd);

void skbox_relay_log_connection(skbox_log_sink *log, const struct skbox_relay_endpoint *remote,
                                const struct skbox_relay_endpoint *local);

/* "socketbox-relay: [remote]:port -> [local]:port: WHAT[: strerror(err)]"; err 0 = none. */
void skbox_relay_log_problem(skbox_log_sink *log, const struct skbox_relay_endpoint *remote,
                             const struct skbox_relay_endpoint *local, const char *what, int err);

/* "socketbox-relay: WHAT[: strerror(err)]" */
void skbox_relay_log_message(skbox_log_sink *log, const char *what, int err);

#endif
