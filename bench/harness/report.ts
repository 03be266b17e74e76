// The whole result of one benchmark run, as written to bench/results/*.json.
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { ColdStartReport } from './cold-start';
import type { ComparedRow, TargetCheck } from './compare';
import type { CpuSets } from './cpu-placement';
import type { Row } from './measure-row';

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  kernel: string;
  node: string;
  /** 1-minute load average before and after: other work on the machine skews the numbers. */
  loadavg_before: number;
  loadavg_after: number;
  /** net.unix.max_dgram_qlen: the receiver queue length dispatch has to live with. */
  unix_max_dgram_qlen: number | null;
}

export interface BenchReport {
  generated_at: string;
  machine: MachineInfo;
  options: {
    connections: number;
    inflight: number[];
    rounds: number;
    warmup_connections: number;
    duration_limit_s: number;
    /** Each row's share of duration_limit_s. */
    row_limit_ms: number;
    connection_timeout_ms: number;
    /** Where the load generator and the servers ran; 'shared' when split was impossible. */
    cpus: CpuSets;
  };
  /** One row per (server, in-flight level): the median round by rate. */
  rows: ComparedRow[];
  /** Every measured row of every round: the raw data behind each median. */
  every_round: Row[];
  /** Peak RSS of a bare Node process with one worker thread (bench/rss-baseline.ts), KiB. */
  rss_baseline_kib: number | null;
  /** The first connection after socket activation (--cold-start). */
  cold_start?: ColdStartReport;
  targets: TargetCheck[];
  /** Broken invariants (lost connections, counts that disagree); empty when all hold. */
  problems: string[];
}

function readNumber(file: string): number | null {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}

export function describeMachine(loadBefore: number): MachineInfo {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    kernel: os.release(),
    node: process.version,
    loadavg_before: loadBefore,
    loadavg_after: os.loadavg()[0],
    unix_max_dgram_qlen: readNumber('/proc/sys/net/unix/max_dgram_qlen'),
  };
}

/** Every broken invariant of the rows, one sentence each. */
export function findProblems(rows: readonly Row[]): string[] {
  const problems: string[] = [];
  for (const r of rows) {
    const where = `${r.label} at ${r.inflight} in flight (round ${r.round})`;
    if (r.lost > 0 || r.warmup_lost > 0) {
      const how = Object.entries(r.failed).filter(([, n]) => n > 0).map(([why, n]) => `${why} ${n}`).join(', ');
      const refused = r.accounting.server.refused
        ? `; socketbox refused ${r.accounting.server.refused} (${r.accounting.server.refusedReasons ?? 'no reason given'})`
        : '';
      problems.push(`${where}: ${r.lost} lost (${how || 'in the warm-up only'}) + ${r.warmup_lost} in the warm-up${refused}`);
    }
    for (const m of r.accounting.mismatches) problems.push(`${where}: ${m}`);
  }
  return problems;
}
