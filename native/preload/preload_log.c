#include "preload_log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Room for a PATH_MAX record file name and the rest of the line. */
#define LINE_MAX_BYTES 8192

void skbox_log(const char *const parts[], size_t count) {
  static const char prefix[] = "libsocketbox-preload: ";
  char line[LINE_MAX_BYTES];
  size_t used = sizeof(prefix) - 1;
  memcpy(line, prefix, used);
  for (size_t i = 0; i < count; i++) {
    size_t length = strnlen(parts[i], sizeof(line) - 1 - used);
    memcpy(line + used, parts[i], length);
    used += length;
  }
  line[used++] = '\n';
  int saved_errno = errno;
  ssize_t ignored = write(2, line, used);
  (void)ignored;
  errno = saved_errno;
}
