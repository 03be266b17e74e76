/** Mirrors enum skbox_stat in native/server/stats.h: index of each per-loop counter. */
export const STAT = {
  accepted: 0,
  delivered: 1,
  refusedNoMatch: 2,
  refusedFail: 3,
  refusedLoop: 4,
  refusedTargetMissing: 5,
  refusedTimeout: 6,
  refusedQueueFull: 7,
  refusedSendError: 8,
  refusedDraining: 9,
  pending: 10,
  acceptErrors: 11,
  acceptPauses: 12,
  tablesAdopted: 13,
  pongs: 14,
  latencySumUs: 15,
  latencyBuckets: 16,
  acceptErrno: 33,
  refusedOutsideRoot: 161,
  refusedNoReceiver: 162,
  upstreamReceived: 163,
  upstreamInvalid: 164,
} as const;

/** Upper bounds of the dispatch latency buckets in µs (skbox_latency_bounds_us); one more bucket is +Inf. */
export const LATENCY_BOUNDS_US = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000];

export const ERRNO_COUNTERS = 128;
export const STAT_COUNT = STAT.upstreamInvalid + 1;

/** Per-target counters: two per slot (delivered, pending). */
export const TARGET_SLOTS = 4096;
export const targetDelivered = (slot: number): number => slot * 2;
export const targetPending = (slot: number): number => slot * 2 + 1;

/** Refusal reasons as operators see them, with their counter. */
export const REFUSAL_REASONS: ReadonlyArray<[string, number]> = [
  ['no_match', STAT.refusedNoMatch],
  ['fail', STAT.refusedFail],
  ['loop', STAT.refusedLoop],
  ['target_missing', STAT.refusedTargetMissing],
  ['timeout', STAT.refusedTimeout],
  ['queue_full', STAT.refusedQueueFull],
  ['send_error', STAT.refusedSendError],
  ['draining', STAT.refusedDraining],
  ['outside_root', STAT.refusedOutsideRoot],
  ['no_receiver', STAT.refusedNoReceiver],
];

/** A block of shared counters: native writes, the main thread reads. */
export function newCounterBlock(count: number): BigUint64Array {
  return new BigUint64Array(new SharedArrayBuffer(count * 8));
}
