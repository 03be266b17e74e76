/* Descriptor flags a received connection needs before a program gets it. */
#ifndef SKBOX_FD_FLAGS_H
#define SKBOX_FD_FLAGS_H

/* Clears O_NONBLOCK. Senders accept with SOCK_NONBLOCK, and the flag belongs to the open
 * file, so it travels with the descriptor; ordinary programs given it as stdin/stdout expect
 * blocking reads (cat fails with EAGAIN otherwise). Returns 0, or -1 with errno. */
int skbox_make_blocking(int fd);

/* Clears FD_CLOEXEC. Returns 0, or -1 with errno. */
int skbox_make_inheritable(int fd);

#endif
