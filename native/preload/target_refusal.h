/* The one line a magic bind or connect that failed leaves on stderr. */
#ifndef SKBOX_PRELOAD_TARGET_REFUSAL_H
#define SKBOX_PRELOAD_TARGET_REFUSAL_H

#include <sys/socket.h>

#include "unix_target_path.h"

/* "CALL to ADDR refused: SUBJECT: WHY (strerror(errno))"; errno is left alone. */
void skbox_report_refused(const char *call, const struct sockaddr *addr, socklen_t len,
                          const struct skbox_target_error *error);

#endif
