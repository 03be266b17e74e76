// Each row beside the floor at the same in-flight level, and the targets of issues 4, 5 and 11
// and of the kernel fast path.
import type { Row } from './measure-row';
import type { ServerKind } from './servers';

export interface VersusFloor {
  rate: number | null;
  p99: number | null;
  /** socketbox's own CPU per connection against the floor's. */
  cpu: number | null;
  /** socketbox + its receiver against the floor: the floor also does the receiver's work (write, close). */
  pair_cpu: number | null;
}

export interface ComparedRow extends Row {
  vs_floor: VersusFloor;
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

/** The CPU a connection costs: socketbox and its receiver together (the floor alone for the floor). */
export const pairCpuUsPerConn = (row: Row): number => row.server_cpu_us_per_conn + (row.receiver_cpu_us_per_conn ?? 0);

/** socketbox + receiver per connection may cost this many times the floor. */
export const PAIR_CPU_TARGET = 1.5;
/** [in flight, p99 limit × floor] for socketbox --workers 1. */
const P99_TARGETS: readonly [number, number][] = [
  [1, 1.2],
  [8, 1.3],
];
/** socketbox --workers 1's peak RSS may be this many times a bare Node process with one worker thread. */
export const RSS_TARGET = 1.3;

const ratio = (value: number, floor: number | undefined): number | null =>
  floor === undefined || floor === 0 ? null : value / floor;

export function compareWithFloor(rows: readonly Row[]): ComparedRow[] {
  return rows.map((row) => {
    const floor = rows.find((r) => r.server === 'floor' && r.inflight === row.inflight);
    return {
      ...row,
      vs_floor: {
        rate: ratio(row.rate_per_s, floor?.rate_per_s),
        p99: ratio(row.p99_us, floor?.p99_us),
        cpu: ratio(row.server_cpu_us_per_conn, floor?.server_cpu_us_per_conn),
        pair_cpu: ratio(pairCpuUsPerConn(row), floor?.server_cpu_us_per_conn),
      },
    };
  });
}

const times = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(2)}×`);

/** The goals the issues set; reported, never asserted (machine load moves them). */
export function checkTargets(rows: readonly ComparedRow[], everyRound: readonly Row[] = rows, rssBaselineKiB: number | null = null): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const socketbox = rows.filter((r) => r.server !== 'floor');
  const lost = everyRound.filter((r) => r.server !== 'floor').reduce((n, r) => n + r.lost + r.warmup_lost, 0);
  checks.push({ target: 'socketbox, every row and round: 0 connections lost', measured: `${lost} lost`, met: lost === 0 });
  const workers1At = (inflight: number) => rows.find((r) => r.server === 'socketbox-w1' && r.inflight === inflight);
  for (const r of socketbox.filter((r) => r.server === 'socketbox-w1')) {
    checks.push({
      target: `socketbox --workers 1 at ${r.inflight} in flight: rate ≥ 0.9× floor`,
      measured: times(r.vs_floor.rate),
      met: r.vs_floor.rate !== null && r.vs_floor.rate >= 0.9,
    });
  }
  // Tail latency at light load: the hand-off may add little to the floor's p99.
  for (const [inflight, limit] of P99_TARGETS) {
    const r = workers1At(inflight);
    if (r)
      checks.push({
        target: `socketbox --workers 1 at ${inflight} in flight: p99 ≤ ${limit}× floor`,
        measured: times(r.vs_floor.p99),
        met: r.vs_floor.p99 !== null && r.vs_floor.p99 <= limit,
      });
  }
  for (const r of socketbox.filter((r) => r.server === 'socketbox-w1')) {
    checks.push({
      target: `socketbox --workers 1 at ${r.inflight} in flight: CPU/conn of socketbox + receiver ≤ ${PAIR_CPU_TARGET}× floor`,
      measured: times(r.vs_floor.pair_cpu),
      met: r.vs_floor.pair_cpu !== null && r.vs_floor.pair_cpu <= PAIR_CPU_TARGET,
    });
    checks.push({
      target: `socketbox --workers 1 at ${r.inflight} in flight: CPU/conn of socketbox alone ≤ 1.3× floor`,
      measured: times(r.vs_floor.cpu),
      met: r.vs_floor.cpu !== null && r.vs_floor.cpu <= 1.3,
    });
  }
  // Features that must cost at most 3 % of the rate of the same server without them.
  const nearlyFree: Array<[ServerKind, string]> = [
    ['socketbox-w1-metrics', '--metrics scraped every 100 ms'],
    ['socketbox-w1-source-rate', '--source-rate on, never triggered,'],
  ];
  for (const [kind, what] of nearlyFree)
    for (const r of rows.filter((r) => r.server === kind)) {
      const plain = workers1At(r.inflight);
      const versus = plain && plain.rate_per_s > 0 ? r.rate_per_s / plain.rate_per_s : null;
      checks.push({ target: `${what} at ${r.inflight} in flight: rate ≥ 0.97× without`, measured: times(versus), met: versus !== null && versus >= 0.97 });
    }
  if (rssBaselineKiB !== null) {
    const peak = Math.max(0, ...socketbox.filter((r) => r.server === 'socketbox-w1').map((r) => r.peak_rss_kib));
    if (peak > 0)
      checks.push({
        target: `socketbox --workers 1: peak RSS ≤ ${RSS_TARGET}× a bare Node process with one worker thread (${(rssBaselineKiB / 1024).toFixed(1)} MiB)`,
        measured: times(peak / rssBaselineKiB),
        met: peak / rssBaselineKiB <= RSS_TARGET,
      });
  }
  checks.push(...fastPathTargets(rows));
  return checks;
}

/** The fast path: a listener-mode receiver as fast as the floor, socketbox + receiver as cheap. */
function fastPathTargets(rows: readonly ComparedRow[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const r of rows.filter((r) => r.server === 'socketbox-fastpath' || r.server === 'socketbox-fastpath-netns')) {
    const where = r.server === 'socketbox-fastpath' ? 'fast path' : 'fast path, receiver in its own netns';
    checks.push({ target: `${where} at ${r.inflight} in flight: rate ≥ 0.97× floor`, measured: times(r.vs_floor.rate), met: r.vs_floor.rate !== null && r.vs_floor.rate >= 0.97 });
    const floor = rows.find((f) => f.server === 'floor' && f.inflight === r.inflight);
    const both = floor && floor.server_cpu_us_per_conn > 0 ? pairCpuUsPerConn(r) / floor.server_cpu_us_per_conn : null;
    checks.push({ target: `${where} at ${r.inflight} in flight: CPU/conn of socketbox + receiver ≤ 1.1× floor`, measured: times(both), met: both !== null && both <= 1.1 });
  }
  return checks;
}
