// `npm run bench -- --cold-start`: the first connection after socket activation. Each subject is
// started by systemd-socket-activate on a fresh port, which execs it when the first connection
// arrives; the C client times that connection from connect() to its first byte (or its end, for
// `node -e 0`, which exits without answering). Subjects take turns within a round, so machine
// load hits them alike; each reports the median of its rounds.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../../testkit/free-port';
import { isListening } from '../../testkit/proc-tcp';
import { holdsUnixSocket } from '../../testkit/proc-unix';
import { cpuTicks, MICROSECONDS_PER_TICK } from '../../testkit/proc-stat';
import type { BenchPrograms } from '../build';
import { runToCompletion, startProgram, waitUntilReady } from './child-process';
import type { TargetCheck } from './compare';

export type ColdStartSubject = 'floor' | 'node' | 'node-wrapped' | 'socketbox-w1' | 'socketbox-w2';

export const COLD_START_SUBJECTS: readonly ColdStartSubject[] = ['floor', 'node', 'node-wrapped', 'socketbox-w1', 'socketbox-w2'];

export const COLD_START_LABELS: Record<ColdStartSubject, string> = {
  floor: 'floor (C: accept, write, exit)',
  node: '`node -e 0`',
  'node-wrapped': "`node -e 0` started as bin/socketbox starts node (sh, LD_PRELOAD)",
  'socketbox-w1': 'socketbox --workers 1',
  'socketbox-w2': 'socketbox --workers 2',
};

export interface ColdStartRow {
  subject: ColdStartSubject;
  label: string;
  /** connect() → first byte (or the end of the connection), one per round, in µs. */
  samples_us: number[];
  median_us: number;
  /** socketbox only: its CPU time (all threads) from exec to the first byte, per round, in µs. */
  cpu_samples_us: number[] | null;
  median_cpu_us: number | null;
  /** median_us / the median of `node -e 0`. */
  vs_node: number;
}

export interface ColdStartReport {
  rounds: number;
  rows: ColdStartRow[];
  targets: TargetCheck[];
}

export interface ColdStartConfig {
  programs: BenchPrograms;
  /** bin/socketbox of the package. */
  socketbox: string;
  rounds: number;
  log: (line: string) => void;
}

const ACTIVATOR = 'systemd-socket-activate';
const ANSWER_TIMEOUT_MS = 20_000;
/** The first handoff may take this many times `node -e 0`. */
export const COLD_START_TARGET = 1.5;

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function commandOf(subject: ColdStartSubject, config: ColdStartConfig, receiverSocket: string): string[] {
  const startupLibrary = path.join(path.dirname(config.socketbox), '..', 'build', 'Release', 'libsocketbox-startup.so');
  switch (subject) {
    case 'floor':
      return [config.programs.activatedFloor];
    case 'node':
      return [process.execPath, '-e', '0'];
    case 'node-wrapped':
      return ['/bin/sh', '-c', 'LD_PRELOAD="$0" exec "$1" -e 0', startupLibrary, process.execPath];
    case 'socketbox-w1':
    case 'socketbox-w2':
      return [config.socketbox, '--workers', subject === 'socketbox-w1' ? '1' : '2', '-S', receiverSocket];
  }
}

/** One activation: the time to the first answer, and the CPU time socketbox spent on it. */
async function startOnce(subject: ColdStartSubject, config: ColdStartConfig, receiverSocket: string): Promise<{ us: number; cpuUs: number | null }> {
  const port = await freePort();
  const activated = startProgram(subject, ACTIVATOR, ['-l', `[::1]:${port}`, '--', ...commandOf(subject, config, receiverSocket)]);
  try {
    await waitUntilReady(`${ACTIVATOR} on port ${port}`, [activated], () => isListening(port));
    const out = await runToCompletion('cold_client', config.programs.coldClient, ['-p', String(port), '-t', String(ANSWER_TIMEOUT_MS)], ANSWER_TIMEOUT_MS + 5000);
    const answer = JSON.parse(out) as { us: number; outcome: string };
    const expected = subject === 'node' || subject === 'node-wrapped' ? ['reset', 'eof'] : ['byte'];
    if (!expected.includes(answer.outcome)) throw new Error(`${subject}: expected ${expected.join(' or ')}, got ${answer.outcome}`);
    // systemd-socket-activate execs the subject in its own process: the pid is socketbox's.
    const cpuUs = subject.startsWith('socketbox') ? cpuTicks(activated.pid) * MICROSECONDS_PER_TICK : null;
    return { us: answer.us, cpuUs };
  } finally {
    await activated.stop(10_000);
  }
}

export async function runColdStart(config: ColdStartConfig): Promise<ColdStartReport> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-cold-start-'));
  const receiverSocket = path.join(scratch, 'receiver.sock');
  const receiver = startProgram('receiver', config.programs.receiver, [receiverSocket]);
  const samples = new Map<ColdStartSubject, { us: number; cpuUs: number | null }[]>(COLD_START_SUBJECTS.map((s) => [s, []]));
  try {
    await waitUntilReady(`the receiver at ${receiverSocket}`, [receiver], () => holdsUnixSocket(receiver.pid, receiverSocket));
    for (let round = 0; round < config.rounds; round++) {
      for (const subject of COLD_START_SUBJECTS) {
        const one = await startOnce(subject, config, receiverSocket);
        samples.get(subject)!.push(one);
        config.log(`cold start ${round + 1}/${config.rounds}: ${COLD_START_LABELS[subject]}: ${(one.us / 1000).toFixed(1)} ms`);
      }
    }
  } finally {
    await receiver.stop(5000).catch(() => undefined);
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const nodeMedian = median(samples.get('node')!.map((s) => s.us));
  const rows = COLD_START_SUBJECTS.map((subject): ColdStartRow => {
    const got = samples.get(subject)!;
    const cpu = got.every((s) => s.cpuUs !== null) ? got.map((s) => s.cpuUs!) : null;
    const med = median(got.map((s) => s.us));
    return {
      subject,
      label: COLD_START_LABELS[subject],
      samples_us: got.map((s) => s.us),
      median_us: med,
      cpu_samples_us: cpu,
      median_cpu_us: cpu && median(cpu),
      vs_node: med / nodeMedian,
    };
  });
  const targets = rows
    .filter((r) => r.subject.startsWith('socketbox'))
    .map((r) => ({
      target: `cold start, ${r.label}: first handoff ≤ ${COLD_START_TARGET}× \`node -e 0\``,
      measured: `${r.vs_node.toFixed(2)}×`,
      met: r.vs_node <= COLD_START_TARGET,
    }));
  return { rounds: config.rounds, rows, targets };
}

/** The cold-start section of latest.md. */
export function renderColdStart(report: ColdStartReport): string[] {
  const ms = (us: number): string => (us / 1000).toFixed(1);
  return [
    `### Cold start (median of ${report.rounds} activations each)`,
    '',
    'Each subject is started by `systemd-socket-activate` when the first connection arrives; the time runs from `connect` to the ' +
      "first byte, which socketbox's receiver writes once socketbox has handed it the connection (`node -e 0` answers nothing: " +
      'its time ends when it exits and the kernel resets the connection). CPU is socketbox\'s own, all threads, exec to first byte (10 ms ticks).',
    '',
    '| subject | median ms | × `node -e 0` | every round, ms | median CPU ms |',
    '| --- | ---: | ---: | --- | ---: |',
    ...report.rows.map(
      (r) =>
        `| ${r.label} | ${ms(r.median_us)} | ${r.vs_node.toFixed(2)}× | ${r.samples_us.map(ms).join(', ')} | ${r.median_cpu_us === null ? '—' : ms(r.median_cpu_us)} |`,
    ),
  ];
}
