/* Turning a socket path from the command line into a struct sockaddr_un. */
#ifndef SKC_UNIX_ADDRESS_H
#define SKC_UNIX_ADDRESS_H

#include <sys/socket.h>
#include <sys/un.h>

/* Longest accepted path, in bytes (SPEC §2: the original silently truncated longer ones). */
#define SKC_UNIX_PATH_MAX 107

/* Fills *out for PATH. A path starting with '@' names an abstract socket (the '@' becomes the
 * leading NUL byte). The length covers exactly the name, no padding, so both ends of an
 * abstract name agree (the server computes it the same way).
 * Returns the address length, or -1 with errno = ENAMETOOLONG or EINVAL (empty name). */
int skc_unix_address(const char *path, struct sockaddr_un *out);

#endif
