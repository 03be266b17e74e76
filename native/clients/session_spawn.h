/* Starting one program per connection (socketbox-inetd). */
#ifndef SKBOX_SESSION_SPAWN_H
#define SKBOX_SESSION_SPAWN_H

#include <sys/types.h>

/* Starts FILE (searched in PATH like execvp) with ARGV (NULL-terminated) in a new session,
 * with CONN (put in blocking mode, see fd_flags.h) as stdin and stdout and the caller's
 * stderr; every other descriptor is closed in the child. Signal dispositions are the defaults
 * and no signal is blocked, whatever the calling process had (Node ignores SIGPIPE, for one;
 * glibc's posix_spawn itself leaves its two internal signals, 32 and 33, ignored; a glibc
 * program sets its own handlers for them when it needs them).
 * posix_spawn shares the parent's memory until exec (vfork-like), so the cost does not grow
 * with the size of the calling process, and exec failures (ENOENT, EACCES...) are reported.
 * Returns the child's pid, or -1 with errno set. CONN stays open in the caller. */
pid_t skbox_spawn_in_session(const char *file, char *const argv[], int conn);

/* Reaps children that have exited, without waiting for any: stores up to ROOM of their pids
 * in PIDS and returns how many (ROOM means there may be more). Returns -1 with errno on an
 * error other than having no children. */
int skbox_reap_exited_children(pid_t *pids, int room);

#endif
