/* What one relay does: where connections come from and where they go. Filled by the
 * binding from the checked command line; the C side validates what it can check itself. */
#ifndef SKBOX_RELAY_CONFIG_H
#define SKBOX_RELAY_CONFIG_H

#include <netinet/in.h>
#include <stdint.h>

#include "common/log_sink.h"

#define SKBOX_RELAY_UNIX_PATH_MAX 107 /* sun_path bytes without the terminating NUL */

enum skbox_relay_source_kind {
  SKBOX_RELAY_SOURCE_LISTEN,  /* a listening stream socket: accept connections */
  SKBOX_RELAY_SOURCE_RECEIVE, /* a UNIX socket carrying connections as SCM_RIGHTS descriptors */
};

enum skbox_relay_proxy_header {
  SKBOX_RELAY_PROXY_NONE,
  SKBOX_RELAY_PROXY_V1, /* text: PROXY TCP6 SRC DST SPORT DPORT\r\n */
  SKBOX_RELAY_PROXY_V2, /* binary, the same addresses */
};

struct skbox_relay_config {
  int source_fd; /* owned by the relay once created */
  enum skbox_relay_source_kind source_kind;
  char unlink_path[SKBOX_RELAY_UNIX_PATH_MAX + 1]; /* -s socket file to remove at the end, "" = none */
  int validation_level;                            /* SKBOX_STRICT_STREAM_MODE: 0, 1, 2 */

  int target_is_unix;
  struct sockaddr_in6 tcp_target;                /* -c/-p/-I/-n; the base address in NAT64 mode */
  char unix_path[SKBOX_RELAY_UNIX_PATH_MAX + 1]; /* -u, '@' = abstract */

  int nat64;                /* -N */
  int nat64_wide;           /* -x: /64 prefix, bits 64..127 carried over */
  uint8_t nat64_prefix[16]; /* -P */

  char congestion[16]; /* TCP congestion control for backend connections, "" = the system's */
  enum skbox_relay_proxy_header proxy;
  int connect_timeout_ms;
  int idle_timeout_ms;           /* an open connection moving no byte either way this long is closed; 0 = never */
  unsigned max_connections;      /* 0 = as many as the descriptor limit allows */
  struct skbox_log_sink *log;    /* per-connection log lines go here; NULL = none (-q) */
  struct skbox_log_sink *errors; /* connections that could not be relayed, and why */
};

#endif
