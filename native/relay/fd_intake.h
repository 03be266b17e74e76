/* Taking one connection from the source: accept4 on a listening socket, or one message's
 * SCM_RIGHTS descriptor from a receiving socket, validated per SKBOX_STRICT_STREAM_MODE
 * (0 = any, 1 = stream sockets, 2 = stream sockets of domain UNIX, INET or INET6). Extra
 * descriptors and rejected ones are closed. The connection comes back non-blocking. */
#ifndef SKBOX_RELAY_FD_INTAKE_H
#define SKBOX_RELAY_FD_INTAKE_H

#include "relay_config.h"

enum skbox_relay_intake_result {
  SKBOX_RELAY_INTAKE_FD,      /* *fd is a connection */
  SKBOX_RELAY_INTAKE_AGAIN,   /* nothing waiting */
  SKBOX_RELAY_INTAKE_SKIPPED, /* something arrived but gave no usable connection; try again */
  SKBOX_RELAY_INTAKE_NO_FDS,  /* out of descriptors or memory: nothing was lost, retry later */
  SKBOX_RELAY_INTAKE_END,     /* the stream/seqpacket peer of a receiving socket has gone */
  SKBOX_RELAY_INTAKE_ERROR,   /* errno says why; the source is unusable */
};

struct skbox_relay_intake_counts {
  unsigned long rejected; /* descriptors failing validation */
  unsigned long extra_closed;
  unsigned long truncated; /* messages whose descriptors did not all fit */
};

enum skbox_relay_intake_result skbox_relay_intake(int source, enum skbox_relay_source_kind kind, int level, int *fd,
                                                  struct skbox_relay_intake_counts *counts);


#endif
