/* Taking one connection from the source: accept4 on a listening socket, or one message's
 * SCM_RIGHTS descriptor from a receiving socket, validated per SKBOX_STRICT_STREAM_MODE
 * (0 = any, 1 = stream sockets, 2 = stream sockets of domain UNIX, INET or INET6). Extra
 * descriptors and rejected ones are closed. The connection comes back non-blocking. */
#ifndef RLY_FD_INTAKE_H
#define RLY_FD_INTAKE_H

#include "relay_config.h"

enum rly_intake_result {
  RLY_INTAKE_FD,      /* *fd is a connection */
  RLY_INTAKE_AGAIN,   /* nothing waiting */
  RLY_INTAKE_SKIPPED, /* something arrived but gave no usable connection; try again */
  RLY_INTAKE_NO_FDS,  /* out of descriptors or memory: nothing was lost, retry later */
  RLY_INTAKE_END,     /* the stream/seqpacket peer of a receiving socket has gone */
  RLY_INTAKE_ERROR,   /* errno says why; the source is unusable */
};

struct rly_intake_counts {
  unsigned long rejected;    /* descriptors failing validation */
  unsigned long extra_closed;
  unsigned long truncated;   /* messages whose descriptors did not all fit */
};

enum rly_intake_result rly_intake(int source, enum rly_source_kind kind, int level, int *fd,
                                  struct rly_intake_counts *counts);


#endif
