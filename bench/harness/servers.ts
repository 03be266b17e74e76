// The servers under test: the C floor, and socketbox in front of the C receiver. Each starts on
// a fresh port, is waited for through /proc (never a probe connection, which socketbox would
// accept and dispatch), and reports its own counts when stopped.
import * as path from 'node:path';
import { isListening } from '../../testkit/proc-tcp';
import { holdsUnixSocket } from '../../testkit/proc-unix';
import { freePort } from '../../testkit/free-port';
import type { BenchPrograms } from '../build';
import { startProgram, waitUntilReady, type Program } from './child-process';
import { onCpus } from './cpu-placement';
import { startFastPath } from './fastpath-servers';

export type ServerKind =
  | 'floor'
  | 'socketbox-w1'
  | 'socketbox-w1-other'
  | 'socketbox-w1-adaptive'
  | 'socketbox-w1-metrics'
  | 'socketbox-w1-source-rate'
  | 'socketbox-w2r'
  | 'socketbox-fastpath'
  | 'socketbox-fastpath-netns';

export const SERVER_KINDS: readonly ServerKind[] = [
  'floor',
  'socketbox-w1',
  'socketbox-w1-other',
  'socketbox-w1-adaptive',
  'socketbox-w1-metrics',
  'socketbox-w1-source-rate',
  'socketbox-w2r',
  'socketbox-fastpath',
  'socketbox-fastpath-netns',
];

/**
 * --source-rate as high as the flag allows: every loadgen connection comes from one source
 * (loopback), far below 1,000,000 per second, so the limiter runs on every connection and
 * never refuses one. What it costs is the check itself.
 */
export const UNTRIGGERED_SOURCE_RATE = '1000000:1000000';

export const SERVER_LABELS: Record<ServerKind, string> = {
  floor: 'floor (C accept + write)',
  'socketbox-w1': 'socketbox --workers 1',
  'socketbox-w1-other': 'socketbox --workers 1 --sched-policy other',
  'socketbox-w1-adaptive': 'socketbox --workers 1 --sched-policy adaptive',
  'socketbox-w1-metrics': 'socketbox --workers 1 --metrics (scraped every 100 ms)',
  'socketbox-w1-source-rate': `socketbox --workers 1 --source-rate ${UNTRIGGERED_SOURCE_RATE} (never triggered)`,
  'socketbox-w2r': 'socketbox --workers 2 -r',
  'socketbox-fastpath': 'socketbox fast path (listener-mode C receiver)',
  'socketbox-fastpath-netns': 'socketbox fast path, receiver in its own netns',
};

const SCRAPE_INTERVAL_MS = 100;

/** What the processes counted themselves, read when they stop. */
export interface ServerCounts {
  accepted: number;
  /** socketbox's own accounting (null for the floor). */
  delivered: number | null;
  refused: number | null;
  /** socketbox's refusals by reason, as it printed them ("timeout 3, queue_full 1"). */
  refusedReasons: string | null;
  /** Connections the C receiver got and answered (null for the floor). */
  received: number | null;
  /** Bytes the floor or the receiver could not write. */
  writeFailed: number;
}

export interface RunningServer {
  kind: ServerKind;
  port: number;
  /** The process measured: the floor, or socketbox itself (not its receiver). */
  serverPid: number;
  receiverPid: number | null;
  /** What the server has written to stderr so far (socketbox's log and access log). */
  stderr(): string;
  stop(): Promise<ServerCounts>;
}

export interface ServerSetup {
  programs: BenchPrograms;
  /** bin/socketbox of the package. */
  socketbox: string;
  /** Where the receiver's socket is bound. */
  scratchDir: string;
  /** The CPUs the servers and the receiver run on (null: any). */
  serverCpus: string | null;
  /** Where the receiver writes each connection's client port and arrival time (bench/latency-breakdown.ts). */
  receiverTimesFile?: string;
}

function startOnServerCpus(setup: ServerSetup, name: string, file: string, args: string[]): Program {
  const placed = onCpus(setup.serverCpus, file, args);
  return startProgram(name, placed.file, placed.args);
}

function parseJsonLine<T>(program: Program): T {
  const line = program.stdout().trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`${program.name} printed no counts: ${JSON.stringify(program.stdout())} ${program.stderr().trim()}`);
  }
}

/** "socketbox: stopped; accepted N, delivered N, refused N (reason N, ...)" */
export function parseStoppedLine(stderr: string): Pick<ServerCounts, 'accepted' | 'delivered' | 'refused' | 'refusedReasons'> {
  const m = /stopped; accepted (\d+), delivered (\d+), refused (\d+)(?: \(([^)]*)\))?/.exec(stderr);
  if (!m) throw new Error(`socketbox printed no "stopped;" line: ${stderr.trim()}`);
  return { accepted: Number(m[1]), delivered: Number(m[2]), refused: Number(m[3]), refusedReasons: m[4] ?? null };
}

async function startFloor(setup: ServerSetup): Promise<RunningServer> {
  const port = await freePort();
  const floor = startOnServerCpus(setup, 'floor_server', setup.programs.floorServer, ['-a', '::1', '-p', String(port)]);
  await waitUntilReady(`floor_server on port ${port}`, [floor], () => isListening(port));
  return {
    kind: 'floor',
    port,
    serverPid: floor.pid,
    receiverPid: null,
    stderr: () => floor.stderr(),
    async stop() {
      await floor.stop();
      const c = parseJsonLine<{ accepted: number; write_failed: number }>(floor);
      return {
        accepted: c.accepted,
        delivered: null,
        refused: null,
        refusedReasons: null,
        received: null,
        writeFailed: c.write_failed,
      };
    },
  };
}

export async function startSocketbox(setup: ServerSetup, kind: ServerKind, flags: string[], metricsPort?: number): Promise<RunningServer> {
  const socketPath = path.join(setup.scratchDir, `${kind}.sock`);
  const receiver = startOnServerCpus(setup, 'receiver', setup.programs.receiver, [socketPath, ...(setup.receiverTimesFile === undefined ? [] : [setup.receiverTimesFile])]);
  await waitUntilReady(`the receiver at ${socketPath}`, [receiver], () => holdsUnixSocket(receiver.pid, socketPath));
  const port = await freePort();
  const socketbox = startOnServerCpus(setup, kind, setup.socketbox, ['-S', socketPath, '-l', '::1', '-p', String(port), ...flags]);
  try {
    await waitUntilReady(`socketbox on port ${port}`, [socketbox], () => isListening(port));
  } catch (error) {
    await receiver.stop(2_000).catch(() => undefined);
    throw error;
  }
  // A Prometheus-like scraper reading /metrics all along, as a deployment would.
  const scraper =
    metricsPort === undefined
      ? undefined
      : setInterval(() => void fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => undefined), SCRAPE_INTERVAL_MS);
  return {
    kind,
    port,
    serverPid: socketbox.pid,
    receiverPid: receiver.pid,
    stderr: () => socketbox.stderr(),
    async stop() {
      if (scraper) clearInterval(scraper);
      // socketbox first: it finishes dispatching what it accepted; then the receiver drains.
      await socketbox.stop().finally(() => receiver.stop());
      const own = parseStoppedLine(socketbox.stderr());
      const got = parseJsonLine<{ received: number; write_failed: number }>(receiver);
      return { ...own, received: got.received, writeFailed: got.write_failed };
    },
  };
}

export function startServer(kind: ServerKind, setup: ServerSetup): Promise<RunningServer> {
  switch (kind) {
    case 'floor':
      return startFloor(setup);
    case 'socketbox-w1':
      return startSocketbox(setup, kind, ['--workers', '1']);
    case 'socketbox-w1-other':
      // The accept thread without SCHED_BATCH: what the default policy costs in latency.
      return startSocketbox(setup, kind, ['--workers', '1', '--sched-policy', 'other']);
    case 'socketbox-w1-adaptive':
      // SCHED_OTHER while connections come one at a time, SCHED_BATCH while they come in bursts.
      return startSocketbox(setup, kind, ['--workers', '1', '--sched-policy', 'adaptive']);
    case 'socketbox-w1-metrics':
      return freePort().then((metricsPort) => startSocketbox(setup, kind, ['--workers', '1', '--metrics', `127.0.0.1:${metricsPort}`], metricsPort));
    case 'socketbox-w1-source-rate':
      return startSocketbox(setup, kind, ['--workers', '1', '--source-rate', UNTRIGGERED_SOURCE_RATE]);
    case 'socketbox-w2r':
      return startSocketbox(setup, kind, ['--workers', '2', '-r']);
    case 'socketbox-fastpath':
    case 'socketbox-fastpath-netns':
      return startFastPath(setup, kind);
  }
}
