/* A struct sockaddr_un from a socket path, shared by every program. */
#ifndef SKBOX_COMMON_UNIX_ADDRESS_H
#define SKBOX_COMMON_UNIX_ADDRESS_H

#include <sys/socket.h>
#include <sys/un.h>

/* Longest accepted name in bytes: sun_path holds 108 and the original needs a NUL
 * (it silently truncated longer paths; here they are refused). */
#define SKBOX_UNIX_NAME_MAX 107

/* Fills *out for path. A leading '@' names an abstract socket (it becomes the leading NUL).
 * The length covers exactly the name, no padding, so both ends of an abstract name agree.
 * Returns the address length, or -1 with errno ENAMETOOLONG or EINVAL (empty name). */
int skbox_unix_address(const char *path, struct sockaddr_un *out);

#endif
