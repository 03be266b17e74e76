/* Optional per-connection log lines (--access-log), written by the loop to a
 * sink that never blocks it (a line that cannot be written is dropped and
 * counted); off by default so the hot path carries no logging. */
#ifndef SKBOX_ACCESS_LOG_H
#define SKBOX_ACCESS_LOG_H

#include <stdint.h>

#include "common/log_sink.h"
#include "server/table.h"

#define SKBOX_ACCESS_LOG_OFF 0
#define SKBOX_ACCESS_LOG_TEXT 1
#define SKBOX_ACCESS_LOG_JSON 2

/* One line: time, remote and local ends, target (or "-"), outcome, latency. */
void skbox_access_log(skbox_log_sink *sink, int format, const skbox_tuple *tuple, const char *target, const char *outcome,
                      uint64_t latency_us);

#endif
