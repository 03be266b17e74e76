/* Reading the program's per-CPU counters (summed) at scrape time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fastpath/libbpf_calls.h"

#include "fastpath/fastpath.h"
#include "fastpath/fastpath_state.h"

static uint64_t sum_percpu(int fd, uint32_t key) {
  if (fd < 0) return 0; /* not started: libbpf may not even be open */
  int n = libbpf_num_possible_cpus();
  if (n <= 0) return 0;
  uint64_t *values = calloc((size_t)n, sizeof *values);
  uint64_t total = 0;
  if (values && bpf_map_lookup_elem(fd, &key, values) == 0)
    for (int i = 0; i < n; i++) total += values[i];
  free(values);
  return total;
}

int skbox_fastpath_decisions(uint64_t out[SKBOX_FP_DECISION_COUNT]) {
  memset(out, 0, SKBOX_FP_DECISION_COUNT * sizeof *out);
  if (skbox_fp.decisions_fd < 0) {
    errno = ENOTCONN;
    return -1;
  }
  for (uint32_t d = 0; d < SKBOX_FP_DECISION_COUNT; d++) out[d] = sum_percpu(skbox_fp.decisions_fd, d);
  return 0;
}

uint64_t skbox_fastpath_assigned(uint32_t slot) {
  return slot < SKBOX_FP_MAX_SLOTS ? sum_percpu(skbox_fp.assigned_fd, slot) : 0;
}
