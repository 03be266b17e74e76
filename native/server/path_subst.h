/* `-U` path substitution (docs/path-substitution.md): #//0_ … #//7_ and #//P_ markers. */
#ifndef SKBOX_PATH_SUBST_H
#define SKBOX_PATH_SUBST_H

#include "server/table.h"

/* Rewrites path (NUL-terminated, len bytes) in place: the first occurrence of
 * each marker becomes the matching 16-bit group of the tuple's local address,
 * or its local port, as 5 zero-padded decimal digits. Length is unchanged. */
void skbox_substitute_path(char *path, size_t len, const skbox_tuple *tuple);

#endif
