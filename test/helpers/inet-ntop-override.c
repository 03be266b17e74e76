/* inet_ntop for tests, loaded with LD_PRELOAD (socketbox-relay formats the addresses of its
 * PROXY v1 header with it). INET_NTOP_OVERRIDE says what becomes of IPv6 addresses:
 *   wide  the uncompressed "x:x:x:x:x:x:d.d.d.d" text RFC 4291 allows, every group four hex
 *         digits: 45 characters when each of the last four bytes is 100 or more
 *   fail  no text: NULL with ENOSPC, as for a buffer too small
 * Unset, and for every other family, the C library's own inet_ntop answers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef const char *ntop_fn(int af, const void *src, char *dst, socklen_t size);

static const char *wide(const unsigned char *a, char *dst, socklen_t size) {
  int n = snprintf(dst, size, "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%u.%u.%u.%u", a[0], a[1], a[2],
                   a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]);
  if (n < 0 || (socklen_t)n >= size) {
    errno = ENOSPC;
    return NULL;
  }
  return dst;
}

const char *inet_ntop(int af, const void *src, char *dst, socklen_t size) {
  const char *mode = getenv("INET_NTOP_OVERRIDE");
  if (af == AF_INET6 && mode && strcmp(mode, "wide") == 0) return wide(src, dst, size);
  if (af == AF_INET6 && mode && strcmp(mode, "fail") == 0) {
    errno = ENOSPC;
    return NULL;
  }
  ntop_fn *libc = (ntop_fn *)dlsym(RTLD_NEXT, "inet_ntop");
  return libc(af, src, dst, size);
}
