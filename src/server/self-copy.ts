import type { ChildProcess } from 'node:child_process';

// child_process (with net and the streams) is a tenth of socketbox's start-up, and only -d and
// the live upgrade need it: loaded on first use. It is built into node, so no chroot is in the way.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const childProcess = (): typeof import('node:child_process') => require('node:child_process') as typeof import('node:child_process');

/** A copy of socketbox started with the same command line, and the pipe it reports readiness on. */
export interface SelfCopy {
  child: ChildProcess;
  /** Its number in the copy; 'ready\n' arrives on `ready` once it serves. */
  readyFd: number;
  ready: NodeJS.ReadableStream;
}

/**
 * The stdio list that gives the copy each of `fds` at its own number (a gap: 'ignore'), so that
 * -s FD, -i FD and jump-fd:N mean the same there; the readiness pipe comes after the highest.
 */
export function keepingNumbers(fds: number[]): Array<number | 'ignore'> {
  return Array.from({ length: Math.max(0, ...fds.map((fd) => fd - 2)) }, (_, i) => (fds.includes(i + 3) ? i + 3 : 'ignore'));
}

/**
 * Starts socketbox again (same Node flags, script and arguments), detached in a session of
 * its own, with stdout and stderr shared. `fds[i]` becomes the copy's descriptor 3 + i
 * ('ignore': none there); the readiness pipe comes after them. `startupLibrary` (what
 * bin/socketbox preloaded) is preloaded again, so that the copy's threads start without
 * capabilities as ours did. Used by -d (daemonize.ts) and the live upgrade (upgrade/).
 */
export function startSelfCopy(fds: Array<number | 'ignore'>, env: NodeJS.ProcessEnv, startupLibrary: string | null): SelfCopy {
  const readyFd = 3 + fds.length;
  const child = childProcess().spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', ...fds, 'pipe'],
    env: {
      ...env,
      ...(startupLibrary === null ? {} : { LD_PRELOAD: [startupLibrary, process.env.LD_PRELOAD].filter(Boolean).join(':') }),
    },
  });
  return { child, readyFd, ready: child.stdio[readyFd] as NodeJS.ReadableStream };
}
