// `npm run bench:sched`: what SCHED_BATCH changes when socketbox's accept thread and its receiver
// share one CPU. For each policy (--sched-policy other, then batch) socketbox --workers 1 and the
// C receiver run on one CPU, the load generator on another, and `perf sched record` watches the
// shared CPU during the measured connections. Counted from its sched_switch events: how often
// the receiver preempted socketbox (socketbox switched out while still runnable, the receiver in)
// and all context switches on that CPU, per connection; beside them socketbox's CPU per
// connection and the load generator's p50. Writes bench/results/sched.{json,md}.
//   node dist/bench/sched.js [--connections N] [--inflight N] [--rounds R] [--out-dir DIR]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { cpuTicks, MICROSECONDS_PER_TICK } from '../testkit/proc-stat';
import { projectRoot } from '../testkit/project-root';
import { buildBenchPrograms } from './build';
import { median } from './harness/cold-start';
import { runToCompletion, startProgram } from './harness/child-process';
import { allowedCpus } from './harness/cpu-placement';
import { runLoadgen } from './harness/loadgen';
import { startSocketbox } from './harness/servers';

const POLICIES = ['other', 'batch'] as const;
type Policy = (typeof POLICIES)[number];

interface SchedRound {
  policy: Policy;
  round: number;
  connections: number;
  /** sched_switch events on the shared CPU: socketbox switched out while runnable, the receiver in. */
  receiver_preempted_socketbox: number;
  context_switches: number;
  socketbox_cpu_us_per_conn: number;
  p50_us: number;
  p99_us: number;
}

const USAGE = 'usage: node dist/bench/sched.js [--connections N (20000)] [--inflight N (8)] [--rounds R (3)] [--out-dir DIR]\n';

/** The threads of pid, as /proc lists them now. */
const threadsOf = (pid: number): Set<number> => new Set(fs.readdirSync(`/proc/${pid}/task`).map(Number));

/** Counts in `perf script` output of sched_switch events. */
export function countSwitches(script: string, socketboxTids: Set<number>, receiverPid: number): { preempted: number; switches: number } {
  let preempted = 0;
  let switches = 0;
  for (const m of script.matchAll(/prev_pid=(\d+) .*?prev_state=(\S+) ==> next_comm=.*? next_pid=(\d+)/g)) {
    switches++;
    if (socketboxTids.has(Number(m[1])) && m[2].startsWith('R') && Number(m[3]) === receiverPid) preempted++;
  }
  return { preempted, switches };
}

async function measure(policy: Policy, round: number, o: { connections: number; inflight: number }, cpus: { loadgen: string; shared: string }, scratch: string): Promise<SchedRound> {
  const programs = buildBenchPrograms();
  const server = await startSocketbox(
    { programs, socketbox: path.join(projectRoot, 'bin', 'socketbox'), scratchDir: scratch, serverCpus: cpus.shared },
    'socketbox-w1',
    ['--workers', '1', '--sched-policy', policy],
  );
  const record = path.join(scratch, `sched-${policy}-${round}.data`);
  try {
    const load = { port: server.port, inflight: o.inflight, connectionTimeoutMs: 5000, durationLimitMs: 60_000 };
    await runLoadgen(programs.loadgen, { ...load, connections: 500 }, cpus.loadgen);
    const perf = startProgram('perf', 'perf', ['record', '-q', '-e', 'sched:sched_switch', '-C', cpus.shared, '-o', record]);
    await new Promise((resolve) => setTimeout(resolve, 500)); // perf opens its events
    const before = cpuTicks(server.serverPid);
    const run = await runLoadgen(programs.loadgen, { ...load, connections: o.connections }, cpus.loadgen);
    const ticks = cpuTicks(server.serverPid) - before;
    const tids = threadsOf(server.serverPid);
    await perf.stop(30_000).catch(() => undefined); // perf record ends on SIGTERM and writes its file
    const script = await runToCompletion('perf script', 'perf', ['script', '-i', record, '-F', 'trace'], 120_000);
    const counts = countSwitches(script, tids, server.receiverPid!);
    return {
      policy,
      round,
      connections: run.connections,
      receiver_preempted_socketbox: counts.preempted,
      context_switches: counts.switches,
      socketbox_cpu_us_per_conn: (ticks * MICROSECONDS_PER_TICK) / run.connections,
      p50_us: run.p50_us,
      p99_us: run.p99_us,
    };
  } finally {
    await server.stop();
  }
}

function render(rounds: SchedRound[], o: { connections: number; inflight: number; rounds: number }, cpus: { loadgen: string; shared: string }): string {
  const per = (n: number, r: SchedRound): number => (n * o.connections) / r.connections;
  const rows = POLICIES.map((policy) => {
    const of = rounds.filter((r) => r.policy === policy);
    const med = (f: (r: SchedRound) => number): number => median(of.map(f));
    return `| ${policy} | ${Math.round(med((r) => per(r.receiver_preempted_socketbox, r))).toLocaleString('en-US')} | ${Math.round(med((r) => per(r.context_switches, r))).toLocaleString('en-US')} | ${med((r) => r.socketbox_cpu_us_per_conn).toFixed(1)} | ${Math.round(med((r) => r.p50_us)).toLocaleString('en-US')} | ${Math.round(med((r) => r.p99_us)).toLocaleString('en-US')} |`;
  });
  return [
    `## socketbox --sched-policy other vs batch, ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `socketbox --workers 1 and the C receiver on CPU ${cpus.shared}, the load generator on CPU ${cpus.loadgen}; ${o.inflight} connections in flight; ` +
      `counts per ${o.connections.toLocaleString('en-US')} connections from \`perf sched record\` on CPU ${cpus.shared} (its context switches include any other process's there), median of ${o.rounds} rounds; ${os.cpus().length} CPUs, Linux ${os.release()}, load average ${os.loadavg()[0].toFixed(2)}.`,
    '',
    '| policy | receiver preempted socketbox | context switches on the shared CPU | socketbox CPU µs/conn | p50 µs | p99 µs |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        connections: { type: 'string', default: '20000' },
        inflight: { type: 'string', default: '8' },
        rounds: { type: 'string', default: '3' },
        'out-dir': { type: 'string', default: path.join(projectRoot, 'bench', 'results') },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`bench:sched: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const o = { connections: Number(values.connections), inflight: Number(values.inflight), rounds: Number(values.rounds) };
  if (![o.connections, o.inflight, o.rounds].every((n) => Number.isSafeInteger(n) && n > 0)) {
    process.stderr.write(`bench:sched: --connections, --inflight and --rounds take positive integers\n${USAGE}`);
    return 2;
  }
  const allowed = allowedCpus();
  if (allowed.length < 2) {
    process.stderr.write('bench:sched: needs two CPUs (the load generator apart from the shared one)\n');
    return 1;
  }
  const cpus = { loadgen: String(allowed[0]), shared: String(allowed[allowed.length - 1]) };
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-bench-sched-'));
  const rounds: SchedRound[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++)
      for (const policy of round % 2 ? POLICIES : [...POLICIES].reverse()) {
        const r = await measure(policy, round, o, cpus, scratch);
        process.stderr.write(`round ${round}/${o.rounds}, ${policy}: ${r.receiver_preempted_socketbox} preemptions, ${r.context_switches} switches, ${r.socketbox_cpu_us_per_conn.toFixed(1)} µs/conn\n`);
        rounds.push(r);
      }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const markdown = render(rounds, o, cpus);
  fs.mkdirSync(values['out-dir'], { recursive: true });
  fs.writeFileSync(path.join(values['out-dir'], 'sched.md'), markdown);
  fs.writeFileSync(path.join(values['out-dir'], 'sched.json'), JSON.stringify({ options: o, cpus, rounds }, null, 2) + '\n');
  process.stdout.write(markdown);
  return 0;
}

if (require.main === module)
  main().then(
    (status) => process.exit(status),
    (error: Error) => {
      process.stderr.write(`bench:sched: ${error.stack ?? error.message}\n`);
      process.exit(1);
    },
  );
