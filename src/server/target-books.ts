/**
 * Per-target books (delivered, refused, waiting), as the metrics and `socketbox ctl status`
 * both show them: the accept loops' counters by target slot, and what the kernel fast path
 * handed to listener-mode slots directly.
 */
import { fastPathBooks } from '../fastpath/fastpath-metrics';
import type { FastPath } from '../fastpath/fast-path';
import type { AcceptPool } from './accept-pool';
import { targetDelivered, targetPending, targetRefused } from './stats-layout';

export interface TargetBook {
  /** As named in the config (`unix:/run/a.sock`, the template for -U paths, `o:3`). */
  readonly target: string;
  delivered: bigint;
  /** Refused after this target was chosen, whatever the reason (socketbox_connections_refused_total has the reasons). */
  refused: bigint;
  /** Waiting for room in the receiver's queue now (accept loops only). */
  waiting: bigint;
}

/** Every target a slot was handed out for (slot 0, "(other)", among them), then any only the fast path served. */
export function targetBooks(pool: AcceptPool, fastPath: FastPath | undefined): TargetBook[] {
  const books = new Map<string, TargetBook>();
  for (const [slot, target] of pool.targetSlots.entries()) {
    books.set(target, {
      target,
      delivered: pool.targetTotal(targetDelivered(slot)),
      refused: pool.targetTotal(targetRefused(slot)),
      waiting: BigInt.asIntN(64, pool.targetTotal(targetPending(slot))),
    });
  }
  if (fastPath) {
    const fp = fastPathBooks(fastPath);
    for (const [target, n] of fp.delivered) {
      const book = books.get(target) ?? { target, delivered: 0n, refused: 0n, waiting: 0n };
      book.delivered += BigInt(n);
      book.refused += BigInt(fp.reclaimedBySlot.get(target) ?? 0);
      books.set(target, book);
    }
  }
  return [...books.values()];
}
