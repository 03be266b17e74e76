import type { AcceptPool } from './accept-pool';
import { logWarn } from './log';
import type { ReloadOutcome } from './reload';
import type { Shutdown } from './shutdown';
import type { Upgrade } from './upgrade/upgrade';

/** Until serving, SIGUSR2 (whose default action ends a process) is refused with a log line. */
const refuseWhileStarting = (): void => logWarn('upgrade refused: socketbox is still starting');

/** First thing: an early SIGUSR2 must not end socketbox. */
export function refuseUpgradesWhileStarting(): void {
  process.on('SIGUSR2', refuseWhileStarting);
}

/**
 * Lets Node's event loop read the signals that came while socketbox was starting, so that they
 * are handled as such (a SIGUSR2 refused) before socketbox listens and installs serving's handlers: Node
 * runs signal handlers from its event loop, and start-up may not have returned to it since. Two
 * nested setImmediate callbacks have a poll phase, where the signals are read, between them
 * whichever phase start-up runs in (with --import preloads, main runs from a poll callback).
 */
export function settleStartupSignals(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/** From now on SIGTERM and SIGINT stop socketbox, SIGHUP reloads its config and SIGUSR2 upgrades it. */
export function handleSignals(pool: AcceptPool, shutdown: Shutdown, reload: (trigger: string) => ReloadOutcome, upgrade: Upgrade): void {
  const testControl = process.env.SOCKETBOX_TEST_CONTROL;
  if (testControl === '1') {
    // Test support only: SIGURG makes one loop leave its thread as if the thread had died;
    // supervision runs it again on a new one. SIGURG
    // because nothing else means it here: the kernel sends it only to the owner (F_SETOWN)
    // of a socket with urgent data, which socketbox never becomes, its default action is to
    // ignore it, and unlike SIGWINCH no terminal sends it to a foreground process group.
    // SIGUSR2 is the live upgrade's (upgrade/).
    let next = 0;
    process.on('SIGURG', () => pool.abandon(next++));
  }
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.on('SIGHUP', () => void reload('SIGHUP'));
  process.off('SIGUSR2', refuseWhileStarting);
  process.on('SIGUSR2', () => void upgrade());
}
