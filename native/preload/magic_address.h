/* Recognising the addresses this library acts on.
 *
 *   [fe8f::M:A:B]:P   M = 0 datagram socket named by record B of skbox_dir_AAAAA,
 *                     M = 1 the same but a stream socket,
 *                     M = 2 datagram socket at $SKBOX_DIRECTORY_ROOT2/AAAAA/BBBBB_PPPPP,
 *                     M = 3 the same but a stream socket,
 *                     M = 4 (A = 0) register for slot B at $SKBOX_REGISTRATION_SOCKET in
 *                     listener mode: the socket becomes the slot's fast-path listener
 *                     (listener_registration.h, docs/fast-path.md).
 *                     (Groups 2 and 3 must be zero; M > 4 is an ordinary address.)
 *   [fe8f:1:S:S:X:X:X:X]  link-local fe80::X:X:X:X with scope id S (second 32-bit word).
 *   127.180.A.B:P     as fe8f::0:A:B;  127.181.A.B:P  as fe8f::1:A:B.
 *   [::]:P, 0.0.0.0:P with P in the wildcard filters: as fe8f::0:0:0 (record 0 of
 *                     skbox_dir_00000), so a daemon that cannot be told an address still works.
 * Addresses carrying a scope id are always ordinary. */
#ifndef SKBOX_PRELOAD_MAGIC_ADDRESS_H
#define SKBOX_PRELOAD_MAGIC_ADDRESS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "preload_config.h"

enum skbox_address_kind {
  SKBOX_ADDRESS_ORDINARY = 0, /* pass the call through untouched */
  SKBOX_ADDRESS_LINK_LOCAL,   /* rewrite to fe80::/64 with a scope id */
  SKBOX_ADDRESS_SOCKETBOX     /* replace the socket by a UNIX socket */
};

enum skbox_address_use { SKBOX_USE_BIND, SKBOX_USE_CONNECT };

struct skbox_socketbox_target {
  int stream;         /* UNIX stream socket instead of datagram */
  int named_by_root2; /* path from $SKBOX_DIRECTORY_ROOT2 instead of a record file */
  uint16_t group;     /* A: record file number, or first path component */
  uint16_t slot;      /* B: record number, or second path component */
  uint16_t port;      /* P, host order */
  int listener_mode;  /* M = 4: a listener-mode registration for slot B */
};

struct skbox_address_decision {
  enum skbox_address_kind kind;
  struct skbox_socketbox_target target; /* for SKBOX_ADDRESS_SOCKETBOX */
  struct sockaddr_in6 link_local;       /* for SKBOX_ADDRESS_LINK_LOCAL */
};

/* Looks at ADDR only (not the socket). Bind checks the port against the configured filters;
 * connect takes any non-zero port and never treats wildcards as magic. A socketbox target
 * stays one when its directory variable is unusable: resolving it then fails (fail closed),
 * so a matched bind never becomes a real bind on the address. */
void skbox_classify_address(const struct sockaddr *addr, socklen_t len, enum skbox_address_use use,
                            const struct skbox_preload_config *config, struct skbox_address_decision *out);

/* "[ADDR]:PORT" or "A.B.C.D:PORT" for messages (ADDR may be short or unaligned). */
void skbox_describe_address(const struct sockaddr *addr, socklen_t len, char *out, size_t size);

#endif
