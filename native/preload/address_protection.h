/* SKBOX_GETPEERNAME_PROTECTION and SKBOX_STEALTH_MODE: what the caller's address buffer of
 * accept/getpeername/getsockname holds afterwards. */
#ifndef SKBOX_PRELOAD_ADDRESS_PROTECTION_H
#define SKBOX_PRELOAD_ADDRESS_PROTECTION_H

#include <sys/socket.h>

/* Zeroes the caller's buffer before the kernel fills it with an address of socket FD, so a
 * daemon that reads more than was written (a sockaddr_un where it expects sockaddr_in6) sees
 * zeros, not stale memory. LEVEL 0: never; 1: only buffers sized exactly sockaddr_in or
 * sockaddr_in6; 2: always.
 * Never writes a byte the kernel itself could not write in the same call: at most *LEN, and
 * at most the largest address of FD's family (16 bytes for AF_INET, 28 for AF_INET6, 110 for
 * AF_UNIX). A caller that overstates *LEN (a sockaddr_in with *LEN = sizeof(struct
 * sockaddr_storage)) is safe with the kernel, and stays safe here. Nothing is written when FD
 * is not a socket of those families, or when the kernel would refuse *LEN (above INT_MAX). */
void skbox_protect_address_buffer(int fd, struct sockaddr *addr, const socklen_t *len, int level);

/* Stealth mode: reports [::1]:0 in ADDR (truncated to *LEN as the kernel would). */
void skbox_report_loopback_peer(struct sockaddr *addr, socklen_t *len);

#endif
