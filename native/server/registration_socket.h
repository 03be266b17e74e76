/* The API sockets of the JSON config's `paths` (docs/config-json.md), where receivers
 * come to register. */
#ifndef SKBOX_REGISTRATION_SOCKET_H
#define SKBOX_REGISTRATION_SOCKET_H

#include <sys/types.h>

/* A listening, non-blocking SOCK_SEQPACKET socket at path ('@' = abstract),
 * its file created owned by uid/gid (-1 = the caller's) with mode, in one step
 * (common/socket_file.h). A stale socket file
 * is replaced; a live one or any other file is refused. Returns the
 * descriptor, or -1 with errno set and *why naming the failing step. */
int skbox_open_registration_socket(const char *path, mode_t mode, long long uid, long long gid, int backlog,
                                   const char **why);

#endif
