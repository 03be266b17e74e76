// Starting socketbox-relay (compiled: dist/ must be built) and the socketbox server that
// feeds it, for tests and benchmarks. Readiness is read from /proc, never probed.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { waitFor } from '../../testkit/wait';
import { waitForListening } from '../../testkit/proc-tcp';
import { holdsUnixSocket } from '../../testkit/proc-unix';
import { binPath } from '../../testkit/project-root';
import { spawnWithListener } from '../../testkit/handed-listener';
import { runProgram, type ProgramRun } from '../../testkit/run-program';

export const relayBin = binPath('socketbox-relay');
export const socketboxBin = binPath('socketbox');

export interface RunningProgram {
  child: ChildProcess;
  pid: number;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** SIGTERM, then the exit status (or the signal's name). */
  stop: () => Promise<number | string>;
}

export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}

function track(child: ChildProcess): RunningProgram {
  let errors = '';
  child.stderr?.on('data', (chunk) => (errors += chunk));
  return {
    child,
    pid: child.pid!,
    stderr: () => errors,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const status = await exited(child);
      clearTimeout(killer);
      return status;
    },
  };
}

/**
 * socketbox-relay -s SOCKET ARGS..., once SOCKET is bound. Its stderr is collected, or is
 * the descriptor given (then stderr() stays empty).
 */
export async function startRelay(
  socketPath: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  stderr: number | 'pipe' = 'pipe',
): Promise<RunningProgram> {
  const program = track(spawn(relayBin, ['-s', socketPath, ...args], { stdio: ['ignore', 'ignore', stderr], env }));
  try {
    await waitFor(`${socketPath} to be bound`, () => {
      if (program.child.exitCode !== null) throw new Error(`socketbox-relay exited ${program.child.exitCode}: ${program.stderr()}`);
      return holdsUnixSocket(program.pid, socketPath);
    });
  } catch (error) {
    program.child.kill('SIGKILL');
    throw error;
  }
  return program;
}

/** Runs socketbox-relay with ARGS as given and collects its exit status and output. */
export const runRelay = (args: string[], timeoutMs = 10_000): Promise<ProgramRun> => runProgram(relayBin, args, timeoutMs);

/**
 * socketbox-relay -l 3 ARGS... on a listening socket made here ([host]:port, IPv6-only so
 * that an IPv4 server may use the same port) and handed over as descriptor 3.
 */
export async function startRelayOnListener(
  host: string,
  port: number,
  args: string[],
  options: { ipv6Only?: boolean; wrapper?: string[] } = {},
): Promise<RunningProgram> {
  const [file, ...pre] = [...(options.wrapper ?? []), relayBin];
  return track(await spawnWithListener(file, [...pre, '-l', '3', ...args], { host, port, ipv6Only: options.ipv6Only }, 'pipe'));
}

/** socketbox -S SOCKET -l ADDR -p PORT, once it listens. */
export async function startSocketbox(socketPath: string, port: number, listen = '::'): Promise<RunningProgram> {
  const program = track(spawn(socketboxBin, ['-S', socketPath, '-l', listen, '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] }));
  try {
    await waitForListening(port);
  } catch (error) {
    program.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}: ${program.stderr()}`, { cause: error });
  }
  return program;
}

/** A socketbox in front of a relay with args; both stopped by the returned function. */
export async function startFrontAndRelay(
  dir: string,
  frontPort: number,
  relayArgs: string[],
  listen = '::',
): Promise<{ relay: RunningProgram; front: RunningProgram; stop: () => Promise<void> }> {
  const socketPath = path.join(dir, 'relay.sock');
  const relay = await startRelay(socketPath, relayArgs);
  let front: RunningProgram;
  try {
    front = await startSocketbox(socketPath, frontPort, listen);
  } catch (error) {
    await relay.stop();
    throw error;
  }
  return {
    relay,
    front,
    stop: async () => {
      await front.stop();
      await relay.stop();
    },
  };
}
