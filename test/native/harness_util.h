/* Shared pieces of the C harnesses in test/native/: checks that end the run
 * with a JSON error line, clocks, descriptor counts, and TCP clients that
 * tell delivered connections from refused ones. Built with the sanitizers
 * by test/helpers/sanitizer-build.ts. */
#ifndef SKBOX_HARNESS_UTIL_H
#define SKBOX_HARNESS_UTIL_H

#include <stdint.h>

/* Ends the run: prints {"error": "...", "at": "file:line"} on stdout, exits 1. */
void harness_fail(const char *file, int line, const char *what);
#define CHECK(cond, what) \
  do { \
    if (!(cond)) harness_fail(__FILE__, __LINE__, what " (" #cond ")"); \
  } while (0)

uint64_t harness_now_ms(void);
void harness_sleep_ms(unsigned ms);

/* Descriptors open in this process (/proc/self/fd). */
int harness_open_fds(void);

/* What a client saw of its connections. */
typedef struct {
  uint64_t delivered; /* read the receiver's byte 'k' */
  uint64_t refused;   /* end of stream or reset, without the byte */
} harness_client_result;

/* Opens n TCP connections from src (an IPv4 or IPv6 address text, bound
 * before connecting; NULL for any) to dst:port, at most in_flight at a time.
 * A connection that sees neither outcome within timeout_ms fails the run. */
void harness_drive(const char *src, const char *dst, uint16_t port, int n, int in_flight, int timeout_ms,
                   harness_client_result *out);

/* One connected client socket (blocking connect), or -1. */
int harness_connect(const char *src, const char *dst, uint16_t port);

/* Waits for one connection's outcome: 1 delivered, 0 refused, -1 no answer in time. */
int harness_outcome(int fd, int timeout_ms);

#endif
