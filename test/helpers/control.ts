/** Talking to socketbox's control socket in tests: through `socketbox ctl`, and raw. */
import * as net from 'node:net';
import { runCtl } from '../../src/cli/ctl';
import { runProgram, type ProgramRun } from '../../testkit/run-program';
import { SOCKETBOX } from '../../testkit/socketbox';

/** socketbox ctl -c PATH ARGS..., bounded in time. */
export function ctl(controlPath: string, ...args: string[]): Promise<ProgramRun> {
  return runProgram(SOCKETBOX, ['ctl', '-c', controlPath, ...args], 30_000);
}

/**
 * One request through ctl's own client code, in this process (no Node start-up per
 * question: the machine is shared); exit statuses are checked with ctl() itself.
 */
export async function ask(controlPath: string, line: string): Promise<ProgramRun> {
  return runCtl({ path: controlPath, json: line.startsWith('json '), line });
}

/** `ctl --json` parsed (asked in this process); fails the run when the exit status is not 0. */
export async function ctlJson<T = Record<string, unknown>>(controlPath: string, ...args: string[]): Promise<T> {
  const run = await ask(controlPath, ['json', ...args].join(' '));
  if (run.status !== 0) throw new Error(`ctl --json ${args.join(' ')} exited ${run.status}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

export interface RawExchange {
  /** Everything the server wrote. */
  received: string;
  /** Whether the server closed the connection (within the wait). */
  closed: boolean;
  /** ms from the last write until the server closed it. */
  closedAfterMs: number;
}

/**
 * Connects, writes each of `writes`, and reads until the server closes the connection or
 * waitMs passes (then the client closes it).
 */
export function rawExchange(controlPath: string, writes: Array<string | Buffer>, waitMs = 3000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(controlPath);
    let received = '';
    let wroteAt = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received, closed: false, closedAfterMs: -1 });
    }, waitMs);
    socket.on('connect', () => {
      for (const w of writes) socket.write(w);
      wroteAt = Date.now();
    });
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received, closed: true, closedAfterMs: Date.now() - wroteAt });
    });
  });
}
