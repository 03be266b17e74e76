/* send-receive-fd -r: handing a received descriptor to a program by exec. */
#ifndef SKBOX_EXEC_WITH_FD_H
#define SKBOX_EXEC_WITH_FD_H

/* Execs FILE (PATH search) with ARGV, handing it FD:
 * - FD, stdin/stdout/stderr and the KEEP_COUNT descriptors in KEEP become inheritable
 *   (Node marks every descriptor it inherited close-on-exec at start-up, and FD arrived
 *   close-on-exec on purpose); all other descriptors keep their flags;
 * - FD is put in blocking mode (see fd_flags.h);
 * - SKBOX_RECEIVED_FD=<FD> is set;
 * - signal dispositions are the defaults and no signal is blocked (Node ignores SIGPIPE,
 *   which exec would otherwise pass on).
 * Returns only on failure: -1 with errno set. */
int skbox_exec_with_received_fd(int fd, const int *keep, unsigned keep_count, const char *file, char *const argv[]);

#endif
