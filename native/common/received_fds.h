/* What every receiver does with a message carrying descriptors (docs/wire-protocol.md):
 * keep the first, close the rest, and check the kept one. */
#ifndef SKBOX_COMMON_RECEIVED_FDS_H
#define SKBOX_COMMON_RECEIVED_FDS_H

#include <sys/socket.h>

/* Returns the first descriptor of the SCM_RIGHTS messages in m (or -1) and closes every
 * other one, adding their number to *extra_closed. */
int skbox_keep_first_descriptor(struct msghdr *m, unsigned *extra_closed);

/* SKBOX_STRICT_STREAM_MODE: level 0 accepts anything; 1 a SOCK_STREAM socket; 2 (the
 * default) a SOCK_STREAM socket of domain AF_UNIX, AF_INET or AF_INET6. 1 = acceptable. */
int skbox_descriptor_acceptable(int fd, int level);

#endif
