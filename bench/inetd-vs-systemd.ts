// Connections per second through socketbox-inetd spawning a trivial program, side by side
// with `systemd-socket-activate --inetd -a` (the standard per-connection spawner) spawning the
// same program, on the same machine, in the same run.
//
//   node dist/bench/inetd-vs-systemd.js [--connections N] [--concurrency C] [--rounds R]
//                                       [--program PATH] [--sender helper|socketbox|both]
//
// The inetd is fed either by bench/inetd/tcp-to-unix-sender.c (a minimal `socketbox -S`) or by
// the real `bin/socketbox -S`. Clients are bench/inetd/connect-loop.c: C threads that connect,
// read until the program's end closes the connection, and start the next one. Variants run in
// rotating order each round so drift in machine load hits all of them alike; medians are
// reported, with the CPU time the serving processes (not the spawned programs) spent per
// connection, which other load on the machine disturbs far less than the rate.
// Results also go to bench/results/inetd-vs-systemd.json.
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { binPath, projectRoot } from '../testkit/project-root';
import { waitFor } from '../testkit/wait';
import { cpuTicks, TICKS_PER_SECOND } from '../testkit/proc-stat';
import { waitForListening } from '../testkit/proc-tcp';
import { holdsUnixSocket } from '../testkit/proc-unix';
import { freePort } from '../testkit/free-port';

interface Options {
  connections: number;
  concurrency: number;
  rounds: number;
  program: string;
  sender: 'helper' | 'socketbox' | 'both';
}

interface LoopResult {
  connections: number;
  failed: number;
  seconds: number;
  perSecond: number;
  /** CPU time of the serving processes per connection, in microseconds. */
  serverCpuMicros?: number;
}

interface Running {
  port: number;
  /** The serving processes (not their per-connection children), for CPU accounting. */
  pids: number[];
  stop: () => Promise<void>;
}

interface Variant {
  name: string;
  /** Starts the servers; resolves once they listen. */
  start(): Promise<Running>;
}

/** User + system CPU seconds of a process itself (children excluded). */
const cpuSeconds = (pid: number): number => cpuTicks(pid) / TICKS_PER_SECOND;

const execFileAsync = promisify(execFile);
const root = projectRoot;
const helperDir = path.join(root, 'bench', 'bin');

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '5' },
      program: { type: 'string', default: '/bin/true' },
      sender: { type: 'string', default: 'both' },
    },
  });
  const positive = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const sender = values.sender as Options['sender'];
  if (!['helper', 'socketbox', 'both'].includes(sender)) throw new Error('--sender must be helper, socketbox or both');
  return {
    connections: positive('connections', values.connections),
    concurrency: positive('concurrency', values.concurrency),
    rounds: positive('rounds', values.rounds),
    program: values.program,
    sender,
  };
}

/** Builds the C helpers into bench/bin/ when missing or older than their source. */
function buildHelper(name: string, extraFlags: string[] = []): string {
  const source = path.join(root, 'bench', 'inetd', `${name}.c`);
  const binary = path.join(helperDir, name);
  fs.mkdirSync(helperDir, { recursive: true });
  const stale = !fs.existsSync(binary) || fs.statSync(binary).mtimeMs < fs.statSync(source).mtimeMs;
  if (stale) execFileSync('cc', ['-O2', '-Wall', '-Wextra', ...extraFlags, '-o', binary, source], { stdio: 'inherit' });
  return binary;
}

function which(program: string): string | undefined {
  const r = spawnSync('which', [program], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Starts a server with stderr going to a log file: systemd-socket-activate logs every
 *  connection, and a pipe nobody drains while the load runs would block it. */
function startProcess(file: string, args: string[]): { child: ChildProcess; stderr: () => string } {
  const logPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-bench-log-')), 'stderr.log');
  const log = fs.openSync(logPath, 'w');
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', log] });
  fs.closeSync(log);
  child.once('exit', () => setTimeout(() => fs.rmSync(path.dirname(logPath), { recursive: true, force: true }), 100));
  return { child, stderr: () => (fs.existsSync(logPath) ? fs.readFileSync(logPath, 'utf8').slice(-2000) : '') };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await done;
}

function inetdVariant(name: string, program: string, sender: (socketPath: string, port: number) => [string, string[]]): Variant {
  return {
    name,
    async start() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-bench-'));
      const socketPath = path.join(dir, 'inetd.sock');
      const inetd = startProcess(binPath('socketbox-inetd'), [socketPath, program]);
      await waitFor('socketbox-inetd to bind', () => {
        if (inetd.child.exitCode !== null) throw new Error(`socketbox-inetd exited: ${inetd.stderr()}`);
        return holdsUnixSocket(inetd.child.pid!, socketPath);
      }, 30_000);
      const port = await freePort();
      const [file, args] = sender(socketPath, port);
      const front = startProcess(file, args);
      await waitForListening(port, 30_000).catch((e) => {
        throw new Error(`${(e as Error).message}: ${front.stderr()}`);
      });
      return {
        port,
        pids: [inetd.child.pid!, front.child.pid!],
        stop: async () => {
          await stopProcess(front.child);
          await stopProcess(inetd.child);
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

function systemdVariant(activator: string, program: string): Variant {
  return {
    name: 'systemd-socket-activate --inetd',
    async start() {
      const port = await freePort();
      const p = startProcess(activator, ['--inetd', '-a', '-l', `[::1]:${port}`, program]);
      await waitForListening(port, 30_000);
      return { port, pids: [p.child.pid!], stop: () => stopProcess(p.child) };
    },
  };
}

function socketboxWorks(): boolean {
  const main = path.join(root, 'dist', 'src', 'main.js');
  if (!fs.existsSync(main)) return false;
  return spawnSync(binPath('socketbox'), ['--help'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main(): Promise<void> {
  const options = parseOptions();
  const activator = which('systemd-socket-activate');
  if (!activator) throw new Error('systemd-socket-activate not found (apt-get install systemd)');
  const connectLoop = buildHelper('connect-loop', ['-pthread']);
  const helperSender = buildHelper('tcp-to-unix-sender');

  const variants: Variant[] = [systemdVariant(activator, options.program)];
  if (options.sender !== 'socketbox')
    variants.push(inetdVariant('socketbox-inetd via C sender', options.program, (s, port) => [helperSender, ['::1', String(port), s]]));
  if (options.sender !== 'helper') {
    if (socketboxWorks())
      variants.push(inetdVariant('socketbox-inetd via socketbox -S', options.program, (s, port) => [
        binPath('socketbox'), ['-S', s, '-l', '::1', '-p', String(port)],
      ]));
    else console.log('(bin/socketbox not usable yet: measuring with the C sender only)');
  }

  const results = new Map<string, LoopResult[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length];
      const running = await variant.start();
      const cpuBefore = running.pids.map(cpuSeconds);
      try {
        const { stdout } = await execFileAsync(
          connectLoop,
          ['::1', String(running.port), String(options.connections), String(options.concurrency)],
          { encoding: 'utf8', timeout: 300_000 },
        );
        const result = JSON.parse(stdout) as LoopResult;
        const cpu = running.pids.reduce((sum, pid, k) => sum + cpuSeconds(pid) - cpuBefore[k], 0);
        result.serverCpuMicros = (cpu / result.connections) * 1e6;
        results.get(variant.name)!.push(result);
        console.log(
          `round ${round + 1} ${variant.name}: ${result.perSecond.toFixed(0)} conn/s, ` +
            `${result.serverCpuMicros.toFixed(0)} µs server CPU/conn (${result.failed} failed)`,
        );
      } finally {
        await running.stop();
      }
    }
  }

  const baseline = median(results.get(variants[0].name)!.map((r) => r.perSecond));
  const summary = variants.map((v) => {
    const runs = results.get(v.name)!;
    const perSecond = median(runs.map((r) => r.perSecond));
    return {
      variant: v.name,
      medianPerSecond: Math.round(perSecond),
      runs: runs.map((r) => Math.round(r.perSecond)),
      medianServerCpuMicros: Math.round(median(runs.map((r) => r.serverCpuMicros!))),
      failed: runs.reduce((n, r) => n + r.failed, 0),
      ratioToSystemd: Number((perSecond / baseline).toFixed(3)),
    };
  });
  console.log(`\n${options.connections} connections x ${options.rounds} rounds, concurrency ${options.concurrency}, program ${options.program}, ${os.cpus().length} CPUs`);
  for (const s of summary)
    console.log(
      `${s.variant.padEnd(36)} median ${String(s.medianPerSecond).padStart(6)} conn/s  ratio ` +
        `${s.ratioToSystemd.toFixed(2)}  server CPU ${String(s.medianServerCpuMicros).padStart(4)} µs/conn  failed ${s.failed}`,
    );

  const outDir = path.join(root, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(
    path.join(outDir, 'inetd-vs-systemd.json'),
    JSON.stringify({ date: new Date().toISOString(), options, cpus: os.cpus().length, summary }, null, 2) + '\n',
  );
}

main().catch((error) => {
  console.error(`inetd-vs-systemd: ${(error as Error).message}`);
  process.exit(1);
});
