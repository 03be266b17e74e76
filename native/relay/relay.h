/* The relay's public face: create it from a configuration, run its loop on one thread
 * until stopped from another, destroy it. No JavaScript runs per connection or per byte. */
#ifndef SKBOX_RELAY_H
#define SKBOX_RELAY_H

#include "relay_config.h"

struct skbox_relay;

struct skbox_relay_exit {
  int status;       /* 0: stopped, or the source's peer went away; 1: the loop failed */
  int err;          /* errno when status is 1 */
  const char *what; /* the failed step when status is 1 */
};

/* Takes ownership of cfg->source_fd (even on failure). NULL with errno and *why on failure. */
struct skbox_relay *skbox_relay_create(const struct skbox_relay_config *cfg, const char **why);

/* Runs until skbox_relay_stop or a fatal error; closes every connection before returning. */
struct skbox_relay_exit skbox_relay_run(struct skbox_relay *r);

/* Safe from any thread, also before run starts (run then returns at once). */
void skbox_relay_stop(struct skbox_relay *r);

/* Closes the source and removes a socket file the relay bound. */
void skbox_relay_destroy(struct skbox_relay *r);

#endif
