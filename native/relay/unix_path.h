/* A UNIX socket address from a path; a leading '@' names an abstract socket. */
#ifndef RLY_UNIX_PATH_H
#define RLY_UNIX_PATH_H

#include <sys/socket.h>
#include <sys/un.h>

/* Returns the address length for bind/connect, or -1 (errno EINVAL or ENAMETOOLONG). */
int rly_unix_address(const char *path, struct sockaddr_un *out);

#endif
