/* Where a socketbox target lives: the UNIX socket address for a magic bind or connect. */
#ifndef SKBOX_PRELOAD_UNIX_TARGET_PATH_H
#define SKBOX_PRELOAD_UNIX_TARGET_PATH_H

#include <sys/socket.h>
#include <sys/un.h>

#include "magic_address.h"
#include "preload_config.h"

/* Size of one record in a skbox_dir_AAAAA file; the first sizeof(sun_path) bytes are used. */
#define SKBOX_RECORD_SIZE 128
/* The marker in a record that is replaced by the bind port as five digits. */
#define SKBOX_PORT_MARKER "_@SB_"

struct skbox_unix_target {
  struct sockaddr_un addr;
  socklen_t length;     /* for bind/connect */
  int abstract;         /* no file: nothing to chmod or unlink */
};

/* Fills OUT for TARGET. Returns 0, or -1 with errno:
 *   open's errno   the record file cannot be opened (e.g. ENOENT),
 *   ERANGE         the record lies past the end of the file,
 *   EADDRNOTAVAIL  the record is empty,
 *   ENAMETOOLONG   a $SKBOX_DIRECTORY_ROOT2 path does not fit sun_path.
 * A record "@name" names the abstract socket "name". */
int skbox_resolve_unix_target(const struct skbox_socketbox_target *target, const struct skbox_preload_config *config,
                              struct skbox_unix_target *out);

/* Writes VALUE as five zero-padded decimal digits at OUT (no terminator). */
void skbox_five_digits(uint16_t value, char *out);

#endif
