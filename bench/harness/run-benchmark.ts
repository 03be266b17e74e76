// Runs every (in-flight level, server) row in one go and assembles the report. Rows of one
// level run back to back, so the floor and socketbox it is compared with see the same machine;
// with several rounds the order rotates each round and the median round is reported.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchPrograms } from '../build';
import { runColdStart } from './cold-start';
import { measureRssBaselineKiB } from './rss-baseline';
import { checkTargets, compareWithFloor } from './compare';
import { allowedCpus, cpuSetsFor, type CpuSets, type Placement } from './cpu-placement';
import { measureRow, type Row } from './measure-row';
import { medianRoundRows } from './median-round';
import { describeMachine, findProblems, type BenchReport } from './report';
import { SERVER_LABELS, type ServerKind } from './servers';

export interface BenchConfig {
  programs: BenchPrograms;
  socketbox: string;
  servers: ServerKind[];
  connections: number;
  inflight: number[];
  rounds: number;
  warmupConnections: number;
  /** Time budget of all measured loads together, split evenly between the rows. */
  durationLimitS: number;
  connectionTimeoutMs: number;
  /** Where the load generator and the servers run (see cpu-placement.ts). */
  placement: Placement;
  /** Activations of each cold-start subject (0: no cold-start measurement). */
  coldStartRounds?: number;
  /** Progress lines go here (stderr by default). */
  log?: (line: string) => void;
}

const rotate = <T>(items: readonly T[], by: number): T[] => items.map((_, i) => items[(i + by) % items.length]);

/** Each row's share of the time budget, so the whole run stays bounded. */
export const rowLimitMs = (config: BenchConfig): number =>
  Math.max(1000, Math.floor((config.durationLimitS * 1000) / (config.rounds * config.inflight.length * Math.max(1, config.servers.length))));

async function measureAll(config: BenchConfig, cpus: CpuSets, scratchDir: string, log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  for (let round = 0; round < config.rounds; round++) {
    for (const inflight of config.inflight) {
      for (const kind of rotate(config.servers, round)) {
        const began = Date.now();
        const row = await measureRow(
          {
            kind,
            round: round + 1,
            inflight,
            connections: config.connections,
            warmupConnections: config.warmupConnections,
            durationLimitMs: rowLimitMs(config),
            connectionTimeoutMs: config.connectionTimeoutMs,
          },
          { programs: config.programs, socketbox: config.socketbox, scratchDir, serverCpus: cpus.servers },
          cpus.loadgen,
        );
        log(
          `round ${round + 1}/${config.rounds}: ${SERVER_LABELS[kind]}, ${inflight} in flight: ` +
            `${Math.round(row.rate_per_s)} conn/s, ${row.lost} lost, p99 ${row.p99_us} µs, ` +
            `${row.server_cpu_us_per_conn.toFixed(1)} CPU µs/conn (row took ${((Date.now() - began) / 1000).toFixed(1)} s)`,
        );
        rows.push(row);
      }
    }
  }
  return rows;
}

export async function runBenchmark(config: BenchConfig): Promise<BenchReport> {
  const log = config.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const loadBefore = os.loadavg()[0];
  const cpus = cpuSetsFor(config.placement, allowedCpus());
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-bench-'));
  let everyRound: Row[];
  try {
    everyRound = await measureAll(config, cpus, scratchDir, log);
  } finally {
    fs.rmSync(scratchDir, { recursive: true, force: true });
  }
  const rows = compareWithFloor(medianRoundRows(everyRound));
  const rssBaseline = rows.length ? await measureRssBaselineKiB() : null;
  const coldStart = config.coldStartRounds ? await runColdStart({ programs: config.programs, socketbox: config.socketbox, rounds: config.coldStartRounds, log }) : undefined;
  return {
    generated_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: describeMachine(loadBefore),
    options: {
      connections: config.connections,
      inflight: config.inflight,
      rounds: config.rounds,
      warmup_connections: config.warmupConnections,
      duration_limit_s: config.durationLimitS,
      row_limit_ms: rowLimitMs(config),
      connection_timeout_ms: config.connectionTimeoutMs,
      cpus,
    },
    rows,
    every_round: everyRound,
    rss_baseline_kib: rssBaseline,
    cold_start: coldStart,
    targets: [...(rows.length ? checkTargets(rows, everyRound, rssBaseline) : []), ...(coldStart?.targets ?? [])],
    problems: findProblems(everyRound),
  };
}
