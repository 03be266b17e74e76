// Runs a created relay on a worker thread (src/workers/relay-worker.ts: its native loop
// blocks that thread) and stops it on SIGTERM or SIGINT by writing the relay's eventfd from
// this thread. The process exits once the loop has returned and the relay is destroyed (its
// socket file removed).
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RelayAddon, RelayExit } from './relay-addon';

const EXIT_FAILURE = 1;

/** ended: called once the loop has returned (listener mode: the registration's end stops the listener's relay). */
export function runRelayThread(addon: RelayAddon, relayId: number, fail: (message: string) => void, ended?: () => void): void {
  const worker = new Worker(path.join(__dirname, '..', 'workers', `relay-worker${path.extname(__filename)}`), {
    workerData: { relayId },
  });
  let exit: RelayExit | undefined;
  let destroyed = false;
  // Stays installed until the process ends: a second SIGTERM during shutdown is a no-op,
  // not the default action that would kill the process mid-cleanup.
  const stop = (): void => {
    if (!destroyed) addon.stopRelay(relayId);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  worker.on('message', (result: RelayExit) => (exit = result));
  worker.on('error', (error) => {
    fail(`relay thread failed: ${error.message}`);
    stop();
  });
  worker.on('exit', () => {
    destroyed = true;
    addon.destroyRelay(relayId);
    if (exit && exit.status !== 0) fail(exit.error ?? `relay loop ended with status ${exit.status}`);
    else if (!exit && process.exitCode === undefined) process.exitCode = EXIT_FAILURE;
    ended?.();
  });
}
