// A benchmark process: spawned with its output collected, stopped with SIGTERM (so it can print
// its counts), killed only if it does not stop in time.
import { spawn, type ChildProcess } from 'node:child_process';
import { runProgram } from '../../testkit/run-program';
import { waitFor } from '../../testkit/wait';

export interface Program {
  readonly name: string;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** Sends SIGTERM and waits for the exit; SIGKILL after graceMs, and then it throws. */
  stop(graceMs?: number): Promise<void>;
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export function startProgram(name: string, file: string, args: readonly string[]): Program {
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${file}`);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (err += chunk));
  // The pipes close after the exit event; wait for them too so nothing printed is missed.
  const finished = Promise.all([
    exitOf(child),
    new Promise((resolve) => child.stdout.once('close', resolve)),
    new Promise((resolve) => child.stderr.once('close', resolve)),
  ]);
  return {
    name,
    pid: child.pid,
    stdout: () => out,
    stderr: () => err,
    hasExited: () => child.exitCode !== null || child.signalCode !== null,
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        finished.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        child.kill('SIGKILL');
        await finished;
        throw new Error(`${name} did not stop within ${graceMs} ms of SIGTERM`);
      }
    },
  };
}

/** Runs a program to completion and returns its stdout; throws on a non-zero exit. */
export async function runToCompletion(name: string, file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  const run = await runProgram(file, args, timeoutMs);
  if (run.status !== 0) throw new Error(`${name} failed (${typeof run.status === 'string' ? run.status : `exit ${run.status}`}): ${run.stderr.trim()}`);
  return run.stdout;
}

const STARTUP_TIMEOUT_MS = 20_000;

/** Waits until ready() holds; fails at once when one of programs exits. On failure they are all stopped. */
export async function waitUntilReady(what: string, programs: readonly Program[], ready: () => boolean): Promise<void> {
  try {
    await waitFor(
      what,
      () => {
        const gone = programs.find((p) => p.hasExited());
        if (gone) throw new Error(`${gone.name} exited: ${gone.stderr().trim()}`);
        return ready();
      },
      STARTUP_TIMEOUT_MS,
    );
  } catch (error) {
    await Promise.all(programs.map((p) => p.stop(2_000).catch(() => undefined)));
    throw error;
  }
}
