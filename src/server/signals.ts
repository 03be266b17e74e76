import type { AcceptPool } from './accept-pool';
import type { ReloadOutcome } from './reload';
import type { Shutdown } from './shutdown';
import type { Upgrade } from './upgrade/upgrade';

/** From now on SIGTERM and SIGINT stop socketbox, SIGHUP reloads its config and SIGUSR2 upgrades it. */
export function handleSignals(pool: AcceptPool, shutdown: Shutdown, reload: (trigger: string) => ReloadOutcome, upgrade: Upgrade): void {
  const testControl = process.env.SOCKETBOX_TEST_CONTROL;
  if (testControl === '1' || testControl === 'terminate') {
    // Test support only: SIGURG ends one worker thread as a crash would: its loop returns
    // and the thread exits (1), or the thread is terminated while inside its loop. SIGURG
    // because nothing else means it here: the kernel sends it only to the owner (F_SETOWN)
    // of a socket with urgent data, which socketbox never becomes, its default action is to
    // ignore it, and unlike SIGWINCH no terminal sends it to a foreground process group.
    // SIGUSR2 is the live upgrade's (upgrade/).
    let next = 0;
    process.on('SIGURG', () => (testControl === 'terminate' ? pool.terminateWorker(next++) : pool.abandon(next++)));
  }
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.on('SIGHUP', () => void reload('SIGHUP'));
  process.on('SIGUSR2', () => void upgrade());
}
