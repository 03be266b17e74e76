/**
 * The fast path's counters in /metrics. A connection the program puts into a listener-mode
 * slot's socket never reaches an accept loop, so it is counted here: accepted (worker
 * "fastpath") and delivered to `o:N` when assigned; one taken back from the queue after its
 * receiver had gone moves from delivered to refused (no_receiver). The books
 * accepted = delivered + refused + pending thus hold for the whole system.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { FastPath } from './fast-path';

export interface FastPathBooks {
  accepted: number;
  /** Per target name (`o:N`): assigned minus taken back. */
  delivered: Map<string, number>;
  refusedNoReceiver: number;
  /** Per target name: of those assigned, taken back (refused as no_receiver). */
  reclaimedBySlot: Map<string, number>;
}

export function fastPathBooks(fp: FastPath): FastPathBooks {
  const books: FastPathBooks = { accepted: 0, delivered: new Map(), refusedNoReceiver: 0, reclaimedBySlot: new Map() };
  for (const s of fp.counters().slots) {
    books.accepted += s.assigned;
    books.delivered.set(`o:${s.slot}`, s.assigned - s.reclaimed);
    books.reclaimedBySlot.set(`o:${s.slot}`, s.reclaimed);
    books.refusedNoReceiver += s.reclaimed;
  }
  return books;
}

export function registerFastPathMetrics(registry: Registry, fp: FastPath | undefined): void {
  new Gauge({
    name: 'socketbox_fastpath_enabled',
    help: '1 while the BPF sk_lookup program is attached (docs/fast-path.md), 0 when every connection goes through the accept loops.',
    registers: [registry],
    collect() {
      this.set(fp ? 1 : 0);
    },
  });
  if (!fp) return;
  new Counter({
    name: 'socketbox_fastpath_decisions_total',
    help: 'New TCP connections in socketbox’s network namespace, by the program’s decision: assigned (to a listener-mode slot), or passed to the accept loops and why.',
    labelNames: ['decision'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [decision, n] of Object.entries(fp.counters().decisions)) this.inc({ decision }, n);
    },
  });
  new Counter({
    name: 'socketbox_fastpath_registrations_total',
    help: 'Listener-mode registrations granted, with a listener (fast path) or without one (served over the registration).',
    labelNames: ['mode'],
    registers: [registry],
    collect() {
      this.reset();
      const g = fp.counters().grants;
      this.inc({ mode: 'listener' }, g.listener);
      this.inc({ mode: 'without_listener' }, g.without_listener);
    },
  });
}
