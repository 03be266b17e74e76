/* The library's lines on stderr. */
#ifndef SKBOX_PRELOAD_LOG_H
#define SKBOX_PRELOAD_LOG_H

#include <stddef.h>

/* Writes "libsocketbox-preload: " and PARTS joined, then a newline, with a single write(2)
 * (so lines from several threads never interleave; no stdio, which may not be usable yet).
 * A line longer than the buffer is cut. errno is left alone. */
void skbox_log(const char *const parts[], size_t count);

#endif
