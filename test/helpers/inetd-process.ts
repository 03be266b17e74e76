// Running bin/socketbox-inetd (compiled: dist/ must be built) for a test.
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from '../../testkit/wait';
import { binPath } from '../../testkit/project-root';
import { holdsUnixSocket } from '../../testkit/proc-unix';

export interface InetdProcess {
  child: ChildProcess;
  pid: number;
  socketPath: string;
  /** Everything the inetd (and its children) wrote to stderr so far. */
  stderr(): string;
  stop: () => Promise<void>;
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Starts socketbox-inetd SOCKET PROGRAM ARGS... and waits until SOCKET is bound. */
export async function startInetd(
  socketPath: string,
  program: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<InetdProcess> {
  const child = spawn(binPath('socketbox-inetd'), [socketPath, ...program], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
  });
  let errors = '';
  child.stderr.on('data', (chunk) => (errors += chunk));
  try {
    await waitFor(`${socketPath} to be bound`, () => {
      if (child.exitCode !== null) throw new Error(`socketbox-inetd exited ${child.exitCode}: ${errors}`);
      return holdsUnixSocket(child.pid!, socketPath);
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    pid: child.pid!,
    socketPath,
    stderr: () => errors,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited(child);
    },
  };
}
