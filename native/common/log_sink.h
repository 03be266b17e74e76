/* Log lines written without ever blocking the thread that writes them. A
 * stderr nobody reads (a full pipe, a terminal scrolled back or stopped with
 * Ctrl-S, a stalled journal) must not stop an accept loop or the relay: a line
 * that cannot be written at once is dropped and counted instead. */
#ifndef SKBOX_LOG_SINK_H
#define SKBOX_LOG_SINK_H

#include <stddef.h>
#include <stdint.h>

/* The longest line a sink takes, newline included. At most PIPE_BUF, so a pipe
 * takes each line whole or not at all. */
#define SKBOX_LOG_LINE_MAX 4096

typedef struct skbox_log_sink skbox_log_sink;

/* A sink writing to fd (normally 2), kept for the life of the process (so is
 * drop_note, a string constant). Call before chroot: for a pipe, FIFO or
 * terminal it opens a description of its own through /proc/self/fd with
 * O_NONBLOCK, leaving fd's (shared with other processes) as it is; a socket is
 * written with MSG_DONTWAIT; a regular file never blocks. With drop_note (a
 * prefix such as "program: "), the first line written after some were dropped
 * is preceded by "PREFIXN log lines dropped ..." (NULL: no such line). NULL:
 * out of memory. */
skbox_log_sink *skbox_log_sink_open(int fd, const char *drop_note);

/* Any thread: writes one line of len bytes (at most SKBOX_LOG_LINE_MAX, ending
 * in '\n'). Returns 1 when written — a terminal or TCP socket may take only the
 * start; the rest goes out before the next line — and 0 when dropped (counted). */
int skbox_log_sink_write(skbox_log_sink *sink, const char *line, size_t len);

/* Lines dropped so far. */
uint64_t skbox_log_sink_dropped(const skbox_log_sink *sink);

/* The length of the line snprintf(buf, size, "...\n", ...) returned n for:
 * when the text did not fit, it is cut so that it still ends with '\n'. */
size_t skbox_log_line_length(char *buf, size_t size, int n);

#endif
