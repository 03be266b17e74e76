/**
 * The accept pool as socketbox runs it: its loops' options from the flags, its listeners
 * split among the workers, and what the main thread does when a worker ends or dies.
 */
import type { ServerOptions } from '../cli/server-flags';
import type { LoopExit, ServerAddon } from '../native/server-addon';
import { AcceptPool, PoolEvents } from './accept-pool';
import type { Listeners } from './config-mode';
import { logError, logWarn } from './log';
import { LOOP_STATUS } from './loop-status';

const EXIT_STARTUP = 1;

/** The loops, created now; their threads start with pool.start(), once the rules are published. */
export function createAcceptPool(addon: ServerAddon, o: ServerOptions, listeners: Listeners): AcceptPool {
  return new AcceptPool(addon, listeners.groups(o.workers), {
    clearTransparent: o.clearTransparent,
    maxPending: o.maxPending,
    maxPendingPerTarget: o.maxPendingPerTarget,
    dispatchTimeoutMs: o.dispatchTimeoutMs,
    drainTimeoutMs: o.drainTimeoutMs,
    maxCachedTargets: o.maxCachedTargets,
    drainBacklogOf: listeners.ownBacklogs,
    accessLog: o.accessLog ? (o.logFormat === 'json' ? 2 : 1) : 0,
    upstream: o.registration !== undefined,
    // One table for every loop, so that a source's rate does not depend on --workers.
    sourceRate: o.sourceRate ? addon.createSourceRate(o.sourceRate) : undefined,
    adaptiveSched: o.schedPolicy === 'adaptive',
  }, o.schedPolicy === 'batch');
}

/** Why a loop ended on its own, for the stop log line. */
function whyLoopEnded(o: ServerOptions, exit: LoopExit): string {
  if (exit.status === LOOP_STATUS.peerGone) return `the peer of -i ${o.forcedFd} is gone`;
  if (exit.status === LOOP_STATUS.upstreamGone) return `the registration server at ${o.registration?.path} closed our registration`;
  return `accept failed: ${exit.error ?? 'unknown error'}`;
}

/** A loop that ends on its own, or a worker that keeps dying, stops socketbox; a restart is logged. */
export function poolEvents(o: ServerOptions, pool: AcceptPool, shutdown: (status: number, why: string) => Promise<void>): PoolEvents {
  return {
    onFatal: (exit) =>
      void shutdown(
        // -P: the upstream server going away is an orderly end, as for socketbox-inetd-p.
        exit.status === LOOP_STATUS.upstreamGone ? 0 : exit.status,
        whyLoopEnded(o, exit),
      ),
    onRestart: (index, reason, delayMs) => logError(`worker ${index}: ${reason}; restarting it in ${delayMs} ms (restart ${pool.restarts})`),
    onGiveUp: (index, reason) => {
      logError(`worker ${index}: ${reason}; it failed too often, giving up`);
      void shutdown(EXIT_STARTUP, 'a worker cannot be kept running');
    },
    onWarning: (message) => logWarn(message),
  };
}
