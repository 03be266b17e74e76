// Waiting for a condition by polling it, bounded: the one wait every test, benchmark and load run uses.

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls check every intervalMs until it returns true; after timeoutMs fails with "timed out ...
 * waiting for WHAT". `what` may be a function, to describe the state at the time of failure.
 * A check that throws (or rejects) ends the wait with that error.
 */
export async function waitFor(
  what: string | (() => string),
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(intervalMs);
  }
}
