/* Which received descriptors a receiver keeps (SPEC §3, SKBOX_STRICT_STREAM_MODE). */
#ifndef SKC_FD_VALIDATE_H
#define SKC_FD_VALIDATE_H

/* Level 0: anything; 1: a SOCK_STREAM socket; 2 (the default): a SOCK_STREAM socket of
 * domain AF_UNIX, AF_INET or AF_INET6. Returns 1 when FD passes LEVEL, else 0. */
int skc_descriptor_acceptable(int fd, int level);

#endif
