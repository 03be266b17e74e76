/* SKBOX_GETPEERNAME_PROTECTION and SKBOX_STEALTH_MODE: what the caller's address buffer of
 * accept/getpeername/getsockname holds afterwards. */
#ifndef SKBOX_PRELOAD_ADDRESS_PROTECTION_H
#define SKBOX_PRELOAD_ADDRESS_PROTECTION_H

#include <sys/socket.h>

/* Zeroes the caller's buffer before the kernel fills it, so a daemon that reads more than
 * was written (a sockaddr_un where it expects sockaddr_in6) sees zeros, not stale memory.
 * LEVEL 0: never; 1: only buffers sized exactly sockaddr_in or sockaddr_in6; 2: always. */
void skbox_protect_address_buffer(struct sockaddr *addr, const socklen_t *len, int level);

/* Stealth mode: reports [::1]:0 in ADDR (truncated to *LEN as the kernel would). */
void skbox_report_loopback_peer(struct sockaddr *addr, socklen_t *len);

#endif
