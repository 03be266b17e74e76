import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { waitFor } from './wait-for';

export const ROOT = path.resolve(__dirname, '..', '..');
export const SOCKETBOX = path.join(ROOT, 'bin', 'socketbox');
export const FD_TOOL = path.join(__dirname, 'fd_tool.py');

/** A child process whose stdout JSON lines and stderr text are collected as they come. */
export class Child {
  readonly events: Array<Record<string, unknown>> = [];
  stderr = '';
  stdout = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    let partial = '';
    proc.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      partial += d.toString();
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not every program prints JSON; the text stays in stdout
        }
      }
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  waitForEvent(pred: (e: Record<string, unknown>) => boolean, timeoutMs = 10_000, what = 'an event'): Promise<void> {
    return waitFor(() => this.events.some(pred), timeoutMs, `${what}; stderr so far: ${this.stderr}`);
  }

  /** Resolves with the exit code (null when killed by a signal). */
  wait(timeoutMs = 15_000): Promise<number | null> {
    return Promise.race([
      this.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`process ${this.pid} still running after ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs).unref(),
      ),
    ]);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode === null && this.exitSignal === null) this.proc.kill(signal);
    return this.wait();
  }
}

export function startSocketbox(args: string[], extraFds: number[] = []): Child {
  return new Child(spawn(SOCKETBOX, args, { stdio: ['ignore', 'pipe', 'pipe', ...extraFds] }));
}

/** fd_tool.py receive PATH NAME — resolves once the socket is bound. */
export async function startReceiver(socketPath: string, name: string): Promise<Child> {
  const c = new Child(spawn('python3', [FD_TOOL, 'receive', socketPath, name], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await c.waitForEvent((e) => e.ready === true, 10_000, `receiver ${name} to bind`);
  return c;
}

export function startFdTool(args: string[]): Child {
  return new Child(spawn('python3', [FD_TOOL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Stop every child, whatever state it is in; for t.teardown. */
export async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop('SIGKILL').catch(() => undefined)));
}

/**
 * fd_tool.py drain PATH NAME: a receiver that answers each connection "ok NAME"
 * (rate per second, 0 = unlimited; hold = read nothing until SIGUSR1). Resolves once bound.
 */
export async function startDrainReceiver(socketPath: string, name: string, opts: { rate?: number; hold?: boolean } = {}): Promise<Child> {
  const c = startFdTool(['drain', socketPath, name, String(opts.rate ?? 0), ...(opts.hold ? ['hold'] : [])]);
  await c.waitForEvent((e) => e.ready === true, 10_000, `receiver ${name}`);
  return c;
}

/** Stops a drain receiver and returns its final report: how many it answered, and whether in order. */
export async function stopDrainReceiver(c: Child): Promise<{ count: number; ordered: boolean }> {
  await c.stop();
  const r = c.events.find((e) => 'count' in e) as { count: number; ordered: boolean } | undefined;
  if (!r) throw new Error(`no report from receiver; stderr ${c.stderr}`);
  return r;
}
