/* The library's configuration: read from the environment once, before the first intercepted
 * call (a constructor, and pthread_once as a fallback for calls made by other libraries'
 * constructors). It never changes afterwards, so threads read it without locks. */
#ifndef SKBOX_PRELOAD_CONFIG_H
#define SKBOX_PRELOAD_CONFIG_H

#include <limits.h>

#include "port_filter.h"

/* Room for a directory root: the longest root plus "/skbox_dir_00000" must fit PATH_MAX. */
#define SKBOX_ROOT_MAX (PATH_MAX - 32)

/* A directory variable as read: its value, or why there is none to use. A magic bind or
 * connect needing a root that has a problem fails (fail closed), it never passes through. */
struct skbox_directory_root {
  const char *variable; /* "SKBOX_DIRECTORY_ROOT" */
  char path[SKBOX_ROOT_MAX + 1];
  const char *problem; /* NULL, or "not set", "empty", "longer than ... bytes" */
};

struct skbox_preload_config {
  /* $SKBOX_DIRECTORY_ROOT: where skbox_dir_AAAAA record files live. */
  struct skbox_directory_root directory_root;
  /* $SKBOX_DIRECTORY_ROOT2: root of the AAAAA/BBBBB_PPPPP paths of modes 2 and 3. */
  struct skbox_directory_root directory_root2;

  /* $SKBOX_REGISTRATION_SOCKET: a socketbox registration socket, for listener-mode binds
   * (fe8f::4:0:B, docs/fast-path.md); unset, empty or too long: such binds fail closed. */
  struct skbox_directory_root registration_socket;

  struct skbox_port_filter filter_ipv6;          /* fe8f::M:A:B binds, default below 1024 */
  struct skbox_port_filter filter_ipv4;          /* 127.180.0.0/15 binds, default below 1024 */
  struct skbox_port_filter filter_ipv6_wildcard; /* [::]:P binds, default none */
  struct skbox_port_filter filter_ipv4_wildcard; /* 0.0.0.0:P binds, default none */

  int enable_connect;         /* SKBOX_ENABLE_CONNECT: 0 off, 1 stream targets, 2 also datagram */
  int getpeername_protection; /* SKBOX_GETPEERNAME_PROTECTION: 0, 1 or 2 (default) */
  int stealth_mode;           /* SKBOX_STEALTH_MODE=1: UNIX peers are reported as [::1]:0 */
  int accept_stream;          /* SKBOX_ACCEPT_STREAM=1: also receive over connected UNIX streams */
  int block_listen_empty;     /* SKBOX_BLOCK_LISTEN_EMPTY_ADDR: default 1 */
  int strict_stream_mode;     /* SKBOX_STRICT_STREAM_MODE: 0, 1 or 2 (default) */
  int sched_yield;            /* SKBOX_SCHED_YIELD=1: yield before every 7th receive */
};

/* The configuration, initialised on first use. Never NULL. */
const struct skbox_preload_config *skbox_config(void);

#endif
