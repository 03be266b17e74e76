/* What the benchmark's C programs share on the command line: reading a whole decimal number in
 * range, and failing with the program's name and errno. Define BENCH_PROGRAM (its name, a string
 * literal) before including. */
#ifndef BENCH_COMMAND_LINE_H
#define BENCH_COMMAND_LINE_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void die(const char *what) {
  fprintf(stderr, BENCH_PROGRAM ": %s: %s\n", what, strerror(errno));
  exit(1);
}

static inline bool parse_long(const char *text, long min, long max, long *out) {
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

static inline bool parse_int(const char *text, int min, int max, int *out) {
  long v;
  if (!parse_long(text, min, max, &v)) return false;
  *out = (int)v;
  return true;
}

#endif
