/**
 * The accept loops' shared counters (native/server/stats.h). The layout and the
 * reason names are generated from that header at build time (scripts/native-contracts.js);
 * this module adds what JavaScript does with them.
 */
import { STAT_WIDTH, TARGET_STAT, TARGET_STAT_COUNT } from '../native/contracts.generated';

export { LATENCY_BOUNDS_US, REFUSAL_REASONS, SOURCE_RATE, STAT, STAT_COUNT, TARGET_SLOTS, TARGET_STAT_COUNT } from '../native/contracts.generated';

/** Accept failures are counted per errno below this; larger ones count with errno 0 ("other"). */
export const ERRNO_COUNTERS = STAT_WIDTH.acceptErrno;

/** Per-target counters: TARGET_STAT_COUNT per slot. */
export const targetDelivered = (slot: number): number => slot * TARGET_STAT_COUNT + TARGET_STAT.delivered;
export const targetPending = (slot: number): number => slot * TARGET_STAT_COUNT + TARGET_STAT.pending;
export const targetRefused = (slot: number): number => slot * TARGET_STAT_COUNT + TARGET_STAT.refused;

/** A block of shared counters: native writes, the main thread reads. */
export function newCounterBlock(count: number): BigUint64Array {
  return new BigUint64Array(new SharedArrayBuffer(count * 8));
}
