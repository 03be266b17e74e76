/**
 * The one way socketbox stops (SIGTERM, SIGINT, a loop that ended on its own, a worker
 * given up on): stop accepting, deliver what was accepted, release the sockets, log the
 * books, and exit with the status asked for.
 */
import type { ControlSocket } from '../control/control-socket';
import type { FastPath } from '../fastpath/fast-path';
import type { ServerAddon } from '../native/server-addon';
import type { AcceptPool } from './accept-pool';
import type { ConfigMode, Listeners } from './config-mode';
import { summarizeCounters } from './counters-summary';
import { logInfo } from './log';
import { STAT } from './stats-layout';
import type { SystemdLifecycle } from './systemd-lifecycle';

/** Where socketbox is in its life: /healthz answers ok only while serving and not stopping. */
export interface ServingState {
  serving: boolean;
  stopping: boolean;
}

export interface ShutdownParts {
  addon: ServerAddon;
  mode: ConfigMode;
  listeners: Listeners;
  pool: AcceptPool;
  fastPath: FastPath | undefined;
  systemd: SystemdLifecycle | undefined;
  metrics: { close(): void } | undefined;
  control: ControlSocket | undefined;
  state: ServingState;
}

/** How socketbox stops: `why` is logged, e.g. "SIGTERM"; handOver: a live upgrade's new process serves now. */
export type Shutdown = (status: number, why: string, handOver?: boolean) => Promise<void>;

/** Only the first call acts. */
export function shutdownFunction(parts: ShutdownParts): Shutdown {
  const { addon, mode, listeners, pool, fastPath, systemd, metrics, control, state } = parts;
  return async (status, why, handOver = false) => {
    if (state.stopping) return;
    state.stopping = true;
    systemd?.stopping(handOver);
    // No command runs against a server that is stopping; after a handover the new process
    // serves the socket (and the answer to `ctl upgrade` is still written), else the file goes.
    control?.close(handOver);
    logInfo(`${why}: stopping (delivering connections already accepted)`);
    fastPath?.stop(); // new connections go to the loops, which take what the kernel queued
    // A handover leaves the listeners' backlogs to the new process.
    await pool.stop(handOver);
    // After the loops: what waited for a registered receiver has been delivered.
    mode.stopRegistrar(handOver);
    listeners.fds.forEach((fd) => addon.closeFd(fd));
    const dropped = addon.logLinesDropped();
    const droppedNote = dropped > 0 ? `; ${dropped} log line${dropped === 1 ? '' : 's'} dropped (stderr could not take them)` : '';
    logInfo(`stopped; ${summarizeCounters(pool.totals())}; accepted per worker: ${pool.perLoop(STAT.accepted).join(', ')}${droppedNote}`);
    // End by running out of work, so that instrumentation (profilers) can flush
    // what it buffered; the metrics endpoint is the last handle we hold. Should
    // anything else linger, the timer ends the process a second later anyway.
    metrics?.close();
    process.exitCode = status;
    setTimeout(() => process.exit(status), 1000).unref();
  };
}
