/* Optional per-connection log lines (--access-log), written by the loop with
 * one write(2) each; off by default so the hot path carries no logging. */
#ifndef SKBOX_ACCESS_LOG_H
#define SKBOX_ACCESS_LOG_H

#include <stdint.h>

#include "server/table.h"

#define SKBOX_ACCESS_LOG_OFF 0
#define SKBOX_ACCESS_LOG_TEXT 1
#define SKBOX_ACCESS_LOG_JSON 2

/* Writes one line to fd: time, remote and local ends, target (or "-"), outcome. */
void skbox_access_log(int fd, int format, const skbox_tuple *tuple, const char *target, const char *outcome,
                      uint64_t latency_us);

#endif
