#include "preload_config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "preload_log.h"
#include "real_calls.h"

static struct skbox_preload_config config;
static struct skbox_real_calls real_calls;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* One line on stderr about an environment variable that is being ignored. */
static void warn_ignored(const char *name, const char *value, const char *why) {
  const char *parts[] = {"ignoring ", name, "=", value, ": ", why};
  skbox_log(parts, sizeof(parts) / sizeof(parts[0]));
}

/* A one-digit setting in MIN..MAX; anything else keeps FALLBACK (and says so). */
static int digit_setting(const char *name, int min, int max, int fallback) {
  const char *value = getenv(name);
  if (value == NULL || value[0] == '\0') return fallback;
  if (value[0] >= '0' && value[0] <= '9' && value[1] == '\0') {
    int digit = value[0] - '0';
    if (digit >= min && digit <= max) return digit;
  }
  warn_ignored(name, value, "expected a single digit in range");
  return fallback;
}

static void filter_setting(const char *name, uint16_t default_below, struct skbox_port_filter *out) {
  skbox_port_filter_below(default_below, out);
  const char *value = getenv(name);
  if (value == NULL) return;
  if (skbox_port_filter_parse(value, out) != 0)
    warn_ignored(name, value, "expected N (ports below N) or LO-HI, comma-separated");
}

/* The problem is reported by the bind that needs the root, not here: a program that never
 * binds a magic address does not care. */
static void directory_setting(const char *name, struct skbox_directory_root *out) {
  _Static_assert(SKBOX_ROOT_MAX == 4064, "the message below states the limit");
  out->variable = name;
  out->path[0] = '\0';
  out->problem = NULL;
  const char *value = getenv(name);
  if (value == NULL) {
    out->problem = "not set";
  } else if (value[0] == '\0') {
    out->problem = "empty";
  } else if (strlen(value) > SKBOX_ROOT_MAX) {
    out->problem = "longer than 4064 bytes";
  } else {
    memcpy(out->path, value, strlen(value) + 1);
  }
}

static void initialise(void) {
  int saved_errno = errno;
  skbox_resolve_real_calls(&real_calls);
  directory_setting("SKBOX_DIRECTORY_ROOT", &config.directory_root);
  directory_setting("SKBOX_DIRECTORY_ROOT2", &config.directory_root2);
  directory_setting("SKBOX_REGISTRATION_SOCKET", &config.registration_socket);
  filter_setting("SKBOX_PORT_FILTER_IPV6", 1024, &config.filter_ipv6);
  filter_setting("SKBOX_PORT_FILTER_IPV4", 1024, &config.filter_ipv4);
  filter_setting("SKBOX_PORT_FILTER_IPV6_WILDCARD", 0, &config.filter_ipv6_wildcard);
  filter_setting("SKBOX_PORT_FILTER_IPV4_WILDCARD", 0, &config.filter_ipv4_wildcard);
  config.enable_connect = digit_setting("SKBOX_ENABLE_CONNECT", 0, 2, 0);
  config.getpeername_protection = digit_setting("SKBOX_GETPEERNAME_PROTECTION", 0, 2, 2);
  config.stealth_mode = digit_setting("SKBOX_STEALTH_MODE", 0, 1, 0);
  config.accept_stream = digit_setting("SKBOX_ACCEPT_STREAM", 0, 1, 0);
  config.block_listen_empty = digit_setting("SKBOX_BLOCK_LISTEN_EMPTY_ADDR", 0, 1, 1);
  config.strict_stream_mode = digit_setting("SKBOX_STRICT_STREAM_MODE", 0, 2, 2);
  config.sched_yield = digit_setting("SKBOX_SCHED_YIELD", 0, 1, 0);
  errno = saved_errno;
}

const struct skbox_preload_config *skbox_config(void) {
  pthread_once(&init_once, initialise);
  return &config;
}

const struct skbox_real_calls *skbox_real(void) {
  pthread_once(&init_once, initialise);
  return &real_calls;
}

/* Read the environment while the program is still single-threaded. */
__attribute__((constructor)) static void initialise_at_load(void) {
  pthread_once(&init_once, initialise);
}
