// `npm run bench:latency`: where a connection's time goes under socketbox, at light load. Each
// connection is timed at four points on one clock (CLOCK_MONOTONIC), matched by the client's
// port: the load generator's connect start and first byte (-T), the receiver's recvmsg return
// (its TIMES_FILE), and socketbox's own accept → handed over, from its access log's latency_us.
// That splits the end-to-end time into
//   before socketbox sends  connect start → receiver has the socket, less socketbox's own part:
//                           the handshake, socketbox's wake-up and accept4, the receiver's wake-up
//   in socketbox            accept4 returned → sendmsg returned (lookup, send; access log line)
//   after the receiver      receiver has the socket → the client has the byte (write, close,
//                           the client's wake-up)
// for socketbox --workers 1 under each --sched-policy (batch, other, adaptive), beside the floor (one process accepts and
// writes) in the same run. The access log is on for socketbox rows (it is where socketbox's part
// comes from), which adds its own cost; `npm run bench` measures without it. Percentiles of the
// parts do not add up to the end-to-end one: each is taken over all connections on its own.
//   node dist/bench/latency-breakdown.js [--connections N] [--inflight 1,8] [--rounds R] [--out-dir DIR]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { accessLogEntries } from '../testkit/access-log';
import { projectRoot } from '../testkit/project-root';
import { type BenchPrograms, buildBenchPrograms } from './build';
import { median } from './harness/cold-start';
import { allowedCpus, cpuSetsFor } from './harness/cpu-placement';
import { runLoadgen } from './harness/loadgen';
import { type RunningServer, startServer, startSocketbox } from './harness/servers';

type Subject = 'floor' | 'batch' | 'other' | 'adaptive';
const SUBJECTS: readonly Subject[] = ['floor', 'batch', 'other', 'adaptive'];
const LABELS: Record<Subject, string> = {
  floor: 'floor (C accept + write)',
  batch: 'socketbox --workers 1 --sched-policy batch',
  other: 'socketbox --workers 1 --sched-policy other',
  adaptive: 'socketbox --workers 1 --sched-policy adaptive',
};
const KINDS = { batch: 'socketbox-w1', other: 'socketbox-w1-other', adaptive: 'socketbox-w1-adaptive' } as const;
const PARTS = ['end_to_end', 'before_send', 'in_socketbox', 'after_receiver'] as const;
type Part = (typeof PARTS)[number];

interface Percentiles {
  p50_us: number;
  p99_us: number;
}

export interface BreakdownRound {
  subject: Subject;
  inflight: number;
  round: number;
  connections: number;
  /** Connections whose four points were all found (socketbox rows). */
  matched: number;
  parts: Partial<Record<Part, Percentiles>>;
}

const USAGE = 'usage: node dist/bench/latency-breakdown.js [--connections N (10000)] [--inflight LIST (1,8)] [--rounds R (5)] [--out-dir DIR]\n';
const WARMUP = 500;

/** Nearest-rank percentile of unsorted values. */
function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length, Math.max(1, Math.ceil(sorted.length * q))) - 1] : 0;
}

const percentiles = (values: number[]): Percentiles => ({ p50_us: percentile(values, 0.5), p99_us: percentile(values, 0.99) });

/** Lines of numbers, grouped by their first (a port), in file order. */
function byPort(file: string): Map<number, number[][]> {
  const out = new Map<number, number[][]>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [port, ...rest] = line.split(' ').map(Number);
    if (!out.has(port)) out.set(port, []);
    out.get(port)!.push(rest);
  }
  return out;
}

/** socketbox's access log (JSON): latency_us of each delivered connection by client port, in order, after the warm-up's. */
export function accessLogLatencies(stderr: string, skip: number): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const entry of accessLogEntries(stderr).slice(skip)) {
    if (entry.outcome !== 'delivered') continue;
    const port = Number(entry.remote.slice(entry.remote.lastIndexOf(':') + 1));
    if (!out.has(port)) out.set(port, []);
    out.get(port)!.push(entry.latency_us);
  }
  return out;
}

/**
 * Joins the three sources connection by connection: a port's n-th measured connection at the
 * client is its n-th arrival at the receiver after the measurement began and its n-th access
 * log line after the warm-up.
 */
export function splitConnections(clientTimes: Map<number, number[][]>, arrivals: Map<number, number[][]>, inSocketbox: Map<number, number[]>): Record<Part, number[]> {
  const parts: Record<Part, number[]> = { end_to_end: [], before_send: [], in_socketbox: [], after_receiver: [] };
  const firstStart = Math.min(...[...clientTimes.values()].flat().map(([start]) => start));
  for (const [port, conns] of clientTimes) {
    const arrived = (arrivals.get(port) ?? []).map(([ns]) => ns).filter((ns) => ns >= firstStart);
    const own = inSocketbox.get(port) ?? [];
    conns.forEach(([start, end], i) => {
      if (arrived[i] === undefined || own[i] === undefined) return;
      const toReceiver = (arrived[i] - start) / 1000;
      parts.end_to_end.push((end - start) / 1000);
      parts.in_socketbox.push(own[i]);
      parts.before_send.push(toReceiver - own[i]);
      parts.after_receiver.push((end - arrived[i]) / 1000);
    });
  }
  return parts;
}

export interface BreakdownOptions {
  connections: number;
  inflights: number[];
  rounds: number;
}

type Cpus = { loadgen: string | null; servers: string | null };

async function measure(programs: BenchPrograms, subject: Subject, inflight: number, round: number, connections: number, cpus: Cpus, scratch: string): Promise<BreakdownRound> {
  const receiverTimes = path.join(scratch, `receiver-${subject}-${inflight}-${round}.txt`);
  const clientTimes = path.join(scratch, `client-${subject}-${inflight}-${round}.txt`);
  const setup = { programs, socketbox: path.join(projectRoot, 'bin', 'socketbox'), scratchDir: scratch, serverCpus: cpus.servers, receiverTimesFile: receiverTimes };
  const server: RunningServer =
    subject === 'floor'
      ? await startServer('floor', setup)
      : await startSocketbox(setup, KINDS[subject], ['--workers', '1', '--sched-policy', subject, '--access-log', '--log-format', 'json']);
  const load = { port: server.port, inflight, connectionTimeoutMs: 5000, durationLimitMs: 60_000 };
  let run;
  try {
    await runLoadgen(programs.loadgen, { ...load, connections: WARMUP }, cpus.loadgen);
    run = await runLoadgen(programs.loadgen, { ...load, connections, timesFile: clientTimes }, cpus.loadgen);
  } finally {
    await server.stop();
  }
  if (run.lost > 0) throw new Error(`${LABELS[subject]}, ${inflight} in flight: ${run.lost} connections lost`);
  const client = byPort(clientTimes);
  if (subject === 'floor') {
    const e2e = [...client.values()].flat().map(([start, end]) => (end - start) / 1000);
    return { subject, inflight, round, connections: run.completed, matched: e2e.length, parts: { end_to_end: percentiles(e2e) } };
  }
  const split = splitConnections(client, byPort(receiverTimes), accessLogLatencies(server.stderr(), WARMUP));
  const parts = Object.fromEntries(PARTS.map((p) => [p, percentiles(split[p])])) as Record<Part, Percentiles>;
  return { subject, inflight, round, connections: run.completed, matched: split.end_to_end.length, parts };
}

export function renderBreakdown(rounds: BreakdownRound[], o: BreakdownOptions, cpus: Cpus): string {
  const fmt = (n: number | undefined): string => (n === undefined ? '—' : Math.round(n).toLocaleString('en-US'));
  const lines = [
    `## Where the time goes: socketbox --workers 1 at light load, ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `${o.connections.toLocaleString('en-US')} connections per round after ${WARMUP} warm-up, median of ${o.rounds} rounds of each percentile; load generator on CPU ${cpus.loadgen ?? 'any'}, ` +
      `servers and receiver on CPU ${cpus.servers ?? 'any'}; ${os.cpus().length} CPUs, Linux ${os.release()}, load average ${os.loadavg()[0].toFixed(2)}. ` +
      'Times from the client\'s connect start (CLOCK_MONOTONIC, one clock for all processes), matched by client port. "in socketbox" is its access log\'s ' +
      'latency_us (accept4 returned → sendmsg returned); the access log is on in these socketbox rows and costs a few µs of its own. ' +
      'Percentiles are taken per part: they do not add up.',
    '',
    '| in flight | server | matched | end to end p50 / p99 µs | before socketbox sends p50 / p99 | in socketbox p50 / p99 | after the receiver has it p50 / p99 |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const inflight of o.inflights)
    for (const subject of SUBJECTS) {
      const of = rounds.filter((r) => r.subject === subject && r.inflight === inflight);
      if (!of.length) continue;
      const cell = (part: Part): string => {
        if (!of[0].parts[part]) return '—';
        return `${fmt(median(of.map((r) => r.parts[part]!.p50_us)))} / ${fmt(median(of.map((r) => r.parts[part]!.p99_us)))}`;
      };
      lines.push(`| ${inflight} | ${LABELS[subject]} | ${fmt(median(of.map((r) => r.matched)))} | ${PARTS.map(cell).join(' | ')} |`);
    }
  return [...lines, ''].join('\n');
}

/** Every round of every subject at every number in flight; subjects take turns within a round. */
export async function runLatencyBreakdown(programs: BenchPrograms, o: BreakdownOptions, cpus: Cpus, log: (line: string) => void): Promise<BreakdownRound[]> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-bench-latency-'));
  const rounds: BreakdownRound[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++)
      for (const inflight of o.inflights)
        // A different order each round, so machine load hits the subjects alike.
        for (const subject of round % 2 ? SUBJECTS : [...SUBJECTS].reverse()) {
          const r = await measure(programs, subject, inflight, round, o.connections, cpus, scratch);
          rounds.push(r);
          const e = r.parts.end_to_end!;
          log(`round ${round}/${o.rounds}, ${inflight} in flight, ${LABELS[subject]}: p50 ${e.p50_us} µs, p99 ${e.p99_us} µs (${r.matched} matched)`);
        }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return rounds;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        connections: { type: 'string', default: '10000' },
        inflight: { type: 'string', default: '1,8' },
        rounds: { type: 'string', default: '5' },
        'out-dir': { type: 'string', default: path.join(projectRoot, 'bench', 'results') },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`bench:latency: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const o = { connections: Number(values.connections), inflights: values.inflight.split(',').map(Number), rounds: Number(values.rounds) };
  if (![o.connections, o.rounds, ...o.inflights].every((n) => Number.isSafeInteger(n) && n > 0)) {
    process.stderr.write(`bench:latency: --connections, --inflight and --rounds take positive integers\n${USAGE}`);
    return 2;
  }
  const sets = cpuSetsFor('split', allowedCpus());
  const cpus = { loadgen: sets.loadgen, servers: sets.servers };
  const rounds = await runLatencyBreakdown(buildBenchPrograms(), o, cpus, (line) => process.stderr.write(`${line}\n`));
  const outDir = values['out-dir'];
  fs.mkdirSync(outDir, { recursive: true });
  const md = renderBreakdown(rounds, o, cpus);
  fs.writeFileSync(path.join(outDir, 'latency-breakdown.md'), md);
  fs.writeFileSync(path.join(outDir, 'latency-breakdown.json'), `${JSON.stringify({ options: o, cpus, rounds }, null, 2)}\n`);
  process.stdout.write(md);
  return 0;
}

if (require.main === module) void main().then((code) => (process.exitCode = code));
