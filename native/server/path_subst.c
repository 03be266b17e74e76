#include "server/path_subst.h"

#include <string.h>

static void write_5_digits(char *out, unsigned v) {
  for (int i = 4; i >= 0; i--) {
    out[i] = (char)('0' + v % 10);
    v /= 10;
  }
}

void skbox_substitute_path(char *path, size_t len, const skbox_tuple *tuple) {
  char marker[6] = "#//0_";
  for (int group = 0; group <= 8; group++) {
    /* groups 0-7 of the local address (bytes 0-15), then the local port (bytes 32-33) */
    const uint8_t *src = group < 8 ? &tuple->bytes[group * 2] : &tuple->bytes[32];
    marker[3] = group < 8 ? (char)('0' + group) : 'P';
    char *hit = memmem(path, len, marker, 5);
    if (hit) write_5_digits(hit, (unsigned)src[0] << 8 | src[1]);
  }
}
