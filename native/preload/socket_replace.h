/* Replacing a daemon's TCP socket by a UNIX socket under the same descriptor number (dup3),
 * keeping the original's O_NONBLOCK and close-on-exec flags. */
#ifndef SKBOX_PRELOAD_SOCKET_REPLACE_H
#define SKBOX_PRELOAD_SOCKET_REPLACE_H

#include "unix_target_path.h"

/* Binds a fresh UNIX socket (stream or datagram) at TARGET and puts it in place of FD.
 * A stale socket file (nobody bound) is removed first; a live one gives EADDRINUSE.
 * The socket file gets mode 0660. Returns 0, or -1 with errno (FD unchanged). */
int skbox_bind_unix_in_place(int fd, const struct skbox_unix_target *target, int stream);

/* Connects a fresh UNIX stream socket to TARGET and puts it in place of FD. */
int skbox_connect_stream_in_place(int fd, const struct skbox_unix_target *target);

/* Makes a socketpair, sends one end to the datagram socket at TARGET (as socketbox would
 * send a connection) and puts the other end in place of FD. */
int skbox_connect_datagram_in_place(int fd, const struct skbox_unix_target *target);

#endif
