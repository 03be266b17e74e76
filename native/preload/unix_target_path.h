/* Where a socketbox target lives: the UNIX socket address for a magic bind or connect. */
#ifndef SKBOX_PRELOAD_UNIX_TARGET_PATH_H
#define SKBOX_PRELOAD_UNIX_TARGET_PATH_H

#include <limits.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "magic_address.h"
#include "preload_config.h"

/* The marker in a record that is replaced by the bind port as five digits. */
#define SKBOX_PORT_MARKER "_@SB_"

struct skbox_unix_target {
  struct sockaddr_un addr;
  socklen_t length; /* for bind/connect */
  int abstract;     /* no file: nothing to chmod or unlink */
};

/* Why a target could not be resolved, for the one line a refused call logs:
 * "SUBJECT: WHY", e.g. "SKBOX_DIRECTORY_ROOT: not set", "/d/skbox_dir_00001, record 2: empty". */
struct skbox_target_error {
  char subject[PATH_MAX + 32];
  const char *why;
};

/* Fills OUT for TARGET. Returns 0, or -1 with errno and ERROR filled:
 *   EADDRNOTAVAIL  the directory variable the target needs is not set, empty or too long
 *                  (fail closed: the call must fail, never become an ordinary one),
 *                  or the record is empty, or names "@" alone,
 *   open's errno   the record file cannot be opened (e.g. ENOENT),
 *   ERANGE, ENAMETOOLONG, EINVAL  a missing or malformed record (see record_file.h),
 *   ENAMETOOLONG   a $SKBOX_DIRECTORY_ROOT2 path does not fit sun_path.
 * A record "@name" names the abstract socket "name". */
int skbox_resolve_unix_target(const struct skbox_socketbox_target *target, const struct skbox_preload_config *config,
                              struct skbox_unix_target *out, struct skbox_target_error *error);

/* Writes VALUE as five zero-padded decimal digits at OUT (no terminator). */
void skbox_five_digits(uint16_t value, char *out);

#endif
