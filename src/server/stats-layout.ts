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
} as const;

export const STAT_COUNT = 14;

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
];

/** One shared block of counters per loop: native writes, the main thread reads. */
export function newStatsBlock(): BigUint64Array {
  return new BigUint64Array(new SharedArrayBuffer(STAT_COUNT * 8));
}
