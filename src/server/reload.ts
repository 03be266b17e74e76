/**
 * The one reload of socketbox (SIGHUP; a control socket may call it too): read the config
 * again, compile it, publish it to every worker and the fast path, and say how it went.
 * A config that fails keeps the previous rules serving.
 */
import type { FastPath } from '../fastpath/fast-path';
import type { ReloadCounts } from '../metrics/registry';
import type { AcceptPool } from './accept-pool';
import { collectGarbageSoon } from './collect-garbage';
import type { ConfigMode } from './config-mode';
import { logError, logInfo } from './log';
import type { SystemdLifecycle } from './systemd-lifecycle';

/** What a reload did, with the generation of the rules serving after it (the first rules are generation 1). */
export type ReloadOutcome =
  | { result: 'reloaded'; generation: number }
  | { result: 'nothing to reload'; generation: number; why: string }
  /** `reason`: `FILE:LINE:COLUMN: reason` for a config error. */
  | { result: 'failed'; generation: number; reason: string };

export interface ReloadParts {
  mode: ConfigMode;
  pool: AcceptPool;
  fastPath: FastPath | undefined;
  systemd: SystemdLifecycle | undefined;
  /** Counted here, read by the metrics. */
  counts: ReloadCounts;
}

/** The generation of the rules serving now: the first rules are 1, each successful reload adds one. */
export function rulesGeneration(counts: ReloadCounts): number {
  return counts.succeeded + 1;
}

/** `trigger` names what asked for the reload in the log, e.g. "SIGHUP". */
export function reloadFunction({ mode, pool, fastPath, systemd, counts }: ReloadParts): (trigger: string) => ReloadOutcome {
  const generation = (): number => rulesGeneration(counts);
  return (trigger) => {
    // Type=notify-reload: systemd waits for RELOADING=1 then READY=1, whatever the outcome.
    systemd?.reloading();
    try {
      const next = mode.reload();
      if ('nothingToReload' in next) {
        logInfo(`${trigger}: ${next.nothingToReload}; nothing to reload`);
        systemd?.reloaded();
        return { result: 'nothing to reload', generation: generation(), why: next.nothingToReload };
      }
      pool.publish(next.table);
      fastPath?.publish(next.table);
      collectGarbageSoon();
      counts.succeeded++;
      counts.lastFailed = false;
      logInfo(`reloaded ${next.description} (generation ${generation()})`);
      systemd?.reloaded();
      return { result: 'reloaded', generation: generation() };
    } catch (err) {
      const reason = (err as Error).message;
      counts.failed++;
      counts.lastFailed = true;
      logError(`reload failed, keeping the previous rules: ${reason}`);
      systemd?.reloaded(reason);
      return { result: 'failed', generation: generation(), reason };
    }
  };
}
