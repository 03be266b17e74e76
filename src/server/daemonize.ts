import * as fs from 'node:fs';
import { keepingNumbers, startSelfCopy } from './self-copy';

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

/** Tells the process that started this copy (-d, or a live upgrade) that it serves. */
export function reportDaemonReady(child: Pick<DaemonChild, 'readyFd'> | undefined): void {
  if (!child) return;
  try {
    fs.writeSync(child.readyFd, 'ready\n');
    fs.closeSync(child.readyFd);
  } catch {
    // the parent is gone; nothing to tell
  }
}

/**
 * In the parent: never returns; exits 0 once the copy serves (self-copy.ts starts it). The
 * listeners and the jump-fd/-i targets (`targets`) keep their numbers in the copy.
 */
export function becomeDaemon(listenFds: number[], targets: number[], startupLibrary: string | null): Promise<never> {
  const stdio = keepingNumbers([...listenFds, ...targets]);
  const env = { ...process.env, [FDS_VAR]: listenFds.join(','), [READY_VAR]: String(3 + stdio.length) };
  const { child, ready } = startSelfCopy(stdio, env, startupLibrary);
  return new Promise<never>(() => {
    ready.on('data', () => {
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
