// Built into node, loaded on the first reload rather than at every start.
/* eslint-disable @typescript-eslint/no-require-imports */
const v8 = (): typeof import('node:v8') => require('node:v8') as typeof import('node:v8');
const vm = (): typeof import('node:vm') => require('node:vm') as typeof import('node:vm');
/* eslint-enable @typescript-eslint/no-require-imports */

let gc: (() => void) | undefined;

/** V8's gc(), made on the first reload: the context it takes would slow every start. */
function collector(): () => void {
  if (!gc) {
    v8().setFlagsFromString('--expose-gc');
    gc = vm().runInNewContext('gc') as () => void;
  }
  return gc;
}

const MIN_INTERVAL_MS = 1000;
let lastRun = 0;
let pending: NodeJS.Timeout | undefined;

/**
 * Asks for a full collection soon after a reload, at most once a second.
 * Reloads are operator actions, and each parse leaves a burst of garbage
 * that would otherwise grow the heap (and RSS) until V8 decides to collect.
 * The main thread carries no connections, so the pause costs nothing there.
 */
export function collectGarbageSoon(): void {
  if (pending) return;
  const wait = Math.max(0, lastRun + MIN_INTERVAL_MS - Date.now());
  pending = setTimeout(() => {
    pending = undefined;
    lastRun = Date.now();
    collector()();
  }, wait);
  pending.unref();
}
