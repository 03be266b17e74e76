/* The relay's lines on its log (stderr): one per connection, as the original wrote it,
 * "TIME [remote]:port -> [local]:port" with TIME in seconds since the epoch, and one per
 * connection that could not be relayed, saying why. Each line is a single write(2). */
#ifndef RLY_CONN_LOG_H
#define RLY_CONN_LOG_H

#include "endpoint.h"

void rly_log_connection(int log_fd, const struct rly_endpoint *remote, const struct rly_endpoint *local);

/* "socketbox-relay: [remote]:port -> [local]:port: WHAT[: strerror(err)]"; err 0 = none. */
void rly_log_problem(int log_fd, const struct rly_endpoint *remote, const struct rly_endpoint *local,
                     const char *what, int err);

/* "socketbox-relay: WHAT[: strerror(err)]" */
void rly_log_message(int log_fd, const char *what, int err);

#endif
