/* Test support: one run of the program on a made-up connection
 * (BPF_PROG_TEST_RUN), for the differential test against the native lookup.
 * The decision is read from which per-CPU counter the run moved. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "fastpath/libbpf_calls.h"

#include "fastpath/fastpath.h"
#include "fastpath/fastpath_state.h"

int skbox_fastpath_test_run(const uint8_t tuple[36], int ipv4, uint64_t *cookie) {
  if (skbox_fp.prog_fd < 0) {
    errno = ENOTCONN;
    return -1;
  }
  struct bpf_sk_lookup ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.protocol = IPPROTO_TCP;
  if (ipv4) {
    ctx.family = AF_INET;
    memcpy(&ctx.local_ip4, tuple + 12, 4);
    memcpy(&ctx.remote_ip4, tuple + 28, 4);
  } else {
    ctx.family = AF_INET6;
    memcpy(ctx.local_ip6, tuple, 16);
    memcpy(ctx.remote_ip6, tuple + 16, 16);
  }
  ctx.local_port = (uint32_t)tuple[32] << 8 | tuple[33];
  memcpy(&ctx.remote_port, tuple + 34, 2);
  uint64_t before[SKBOX_FP_DECISION_COUNT], after[SKBOX_FP_DECISION_COUNT];
  if (skbox_fastpath_decisions(before) != 0) return -1;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .ctx_out = &ctx,
              .ctx_size_out = sizeof ctx);
  if (bpf_prog_test_run_opts(skbox_fp.prog_fd, &opts) != 0) return -1;
  if (skbox_fastpath_decisions(after) != 0) return -1;
  *cookie = ctx.cookie;
  for (int d = 0; d < SKBOX_FP_DECISION_COUNT; d++)
    if (after[d] != before[d]) return d;
  errno = ENODATA;
  return -1;
}
