/* An unbound datagram socket for senders (binding receivers: common/datagram_bind.h). */
#ifndef SKC_DATAGRAM_BIND_H
#define SKC_DATAGRAM_BIND_H

#include <sys/types.h>

/* An unbound AF_UNIX SOCK_DGRAM socket (close-on-exec), for senders. -1 with errno on failure. */
int skc_open_datagram_socket(void);

#endif
