import * as fs from 'node:fs';

/**
 * -d without fork(): a multi-threaded Node process cannot fork safely, so the
 * parent starts a detached copy of itself (a new session), hands it the bound
 * listeners, and exits once the copy reports that it is serving — or with the
 * copy's own status when it fails before that.
 */
const FDS_VAR = 'SOCKETBOX_DAEMON_LISTEN_FDS';
const READY_VAR = 'SOCKETBOX_DAEMON_READY_FD';

export interface DaemonChild {
  listenFds: number[];
  readyFd: number;
}

/** In the detached copy: the listeners and the descriptor to report readiness on. */
export function daemonChildContext(): DaemonChild | undefined {
  const fds = process.env[FDS_VAR];
  const ready = process.env[READY_VAR];
  if (fds === undefined || ready === undefined) return undefined;
  delete process.env[FDS_VAR];
  delete process.env[READY_VAR];
  process.chdir('/'); // like daemon(3): do not keep a directory busy
  return { listenFds: fds.split(',').map(Number), readyFd: Number(ready) };
}

export function reportDaemonReady(child: DaemonChild | undefined): void {
  if (!child) return;
  try {
    fs.writeSync(child.readyFd, 'ready\n');
    fs.closeSync(child.readyFd);
  } catch {
    // the parent is gone; nothing to tell
  }
}

/**
 * In the parent: never returns; exits 0 once the copy serves. `startupLibrary`
 * (what bin/socketbox preloaded) is preloaded into the copy too, so that its
 * threads start without capabilities as ours did.
 */
export async function becomeDaemon(listenFds: number[], startupLibrary: string | null): Promise<never> {
  const { spawn } = await import('node:child_process'); // only with -d: not on every start
  const first = 3;
  const readyFd = first + listenFds.length;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', ...listenFds, 'pipe'],
    env: {
      ...process.env,
      ...(startupLibrary === null ? {} : { LD_PRELOAD: [startupLibrary, process.env.LD_PRELOAD].filter(Boolean).join(':') }),
      [FDS_VAR]: listenFds.map((_, i) => first + i).join(','),
      [READY_VAR]: String(readyFd),
    },
  });
  return new Promise<never>(() => {
    const pipe = child.stdio[readyFd] as NodeJS.ReadableStream;
    pipe.on('data', () => {
      process.stdout.write(`socketbox: daemon running as pid ${child.pid}\n`);
      process.exit(0);
    });
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    child.on('error', (err) => {
      process.stderr.write(`socketbox: error: cannot start the daemon: ${err.message}\n`);
      process.exit(1);
    });
  });
}
