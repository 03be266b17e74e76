/* The fast path of a build made without its toolchain (clang with the BPF target and
 * libbpf-dev were missing when the addon was built): every entry point says so, and
 * socketbox serves every connection through its accept loops (docs/fast-path.md).
 * Listener-mode registrations are still granted, without a listener. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fastpath/fastpath.h"

int skbox_fastpath_start(const char *object_path, int verbose, char *why, size_t why_len) {
  (void)object_path;
  (void)verbose;
  snprintf(why, why_len, "this build of socketbox has no fast path: clang and libbpf-dev were missing when it was built");
  errno = ENOSYS;
  return -1;
}

int skbox_fastpath_active(void) {
  return 0;
}

void skbox_fastpath_stop(void) {}

int skbox_fastpath_set_listeners(const int *fds, uint32_t n) {
  (void)fds;
  (void)n;
  errno = ENOSYS;
  return -1;
}

int skbox_fastpath_publish(const skbox_table *t) {
  (void)t;
  errno = ENOSYS;
  return -1;
}

int skbox_fastpath_slot_open(uint32_t slot) {
  (void)slot;
  errno = ENOSYS;
  return -1;
}

void skbox_fastpath_slot_close(uint32_t slot, int reclaim) {
  (void)slot;
  (void)reclaim;
}

int skbox_fastpath_decisions(uint64_t out[SKBOX_FP_DECISION_COUNT]) {
  memset(out, 0, sizeof(uint64_t) * SKBOX_FP_DECISION_COUNT);
  return 0;
}

uint64_t skbox_fastpath_assigned(uint32_t slot) {
  (void)slot;
  return 0;
}

uint64_t skbox_fastpath_reclaimed(uint32_t slot) {
  (void)slot;
  return 0;
}

uint32_t skbox_fastpath_slots_seen(uint32_t *out, uint32_t cap) {
  (void)out;
  (void)cap;
  return 0;
}

int skbox_fastpath_test_run(const uint8_t tuple[36], int ipv4, uint64_t *cookie) {
  (void)tuple;
  (void)ipv4;
  (void)cookie;
  errno = ENOSYS;
  return -1;
}
