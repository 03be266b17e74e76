/* The relay's public face: create it from a configuration, run its loop on one thread
 * until stopped from another, destroy it. No JavaScript runs per connection or per byte. */
#ifndef RLY_RELAY_H
#define RLY_RELAY_H

#include "relay_config.h"

struct rly_relay;

struct rly_exit {
  int status;       /* 0: stopped, or the source's peer went away; 1: the loop failed */
  int err;          /* errno when status is 1 */
  const char *what; /* the failed step when status is 1 */
};

/* Takes ownership of cfg->source_fd (even on failure). NULL with errno and *why on failure. */
struct rly_relay *rly_relay_create(const struct rly_config *cfg, const char **why);

/* Runs until rly_relay_stop or a fatal error; closes every connection before returning. */
struct rly_exit rly_relay_run(struct rly_relay *r);

/* Safe from any thread, also before run starts (run then returns at once). */
void rly_relay_stop(struct rly_relay *r);

/* Closes the source and removes a socket file the relay bound. */
void rly_relay_destroy(struct rly_relay *r);

#endif
