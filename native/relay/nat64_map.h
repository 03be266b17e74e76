/* NAT64 mode (-N): the local address a client dialled names the real destination.
 * The local address must lie in the prefix: its first 96 bits equal the prefix's, or only
 * the first 64 with -x ("wide"). A TCP destination is the base address (-c) with its last
 * 32 bits replaced by the local address's, and with -x bits 64..95 as well; the port is
 * the base port, or the local port when the base port is 0. A UNIX destination is
 * "PATH-%08x" of the local address's last 32 bits, and always needs the /96 match: the
 * path carries only those 32 bits, so a wider prefix would send many addresses to one path. */
#ifndef SKBOX_RELAY_NAT64_MAP_H
#define SKBOX_RELAY_NAT64_MAP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* 1 when local lies in the prefix (/96, or /64 when wide). */
int skbox_relay_nat64_in_prefix(const uint8_t prefix[16], int wide, const uint8_t local[16]);

/* Fills *out; returns -1 (nothing written) when local is outside the prefix. */
int skbox_relay_nat64_tcp_target(const struct sockaddr_in6 *base, const uint8_t prefix[16], int wide,
                                 const uint8_t local[16], uint16_t local_port, struct sockaddr_in6 *out);

/* Writes "BASE-xxxxxxxx"; returns -1 when local is outside the /96 prefix or the result
 * would not fit in size bytes. */
int skbox_relay_nat64_unix_path(const char *base, const uint8_t prefix[16], const uint8_t local[16], char *out,
                                size_t size);

#endif
