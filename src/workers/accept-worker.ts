import { parentPort, threadId } from 'node:worker_threads';
import { LoopExit, serverAddon } from '../native/server-addon';
import { LOOP_STATUS } from '../server/loop-status';

// Load the addon now and say so: the main thread waits for every worker to
// get here before it chroots, after which nothing could be loaded from disk.
const addon = serverAddon();
parentPort?.postMessage({ socketboxWorkerLoaded: threadId });

/**
 * A task (src/server/thread-pool.ts): run one native accept loop on this worker thread until the
 * main thread asks it to stop. The loop needs no JavaScript per connection.
 */
function runAcceptLoop(task: { loopId: number; schedBatch: boolean }): LoopExit {
  try {
    addon.setThreadSchedBatch(task.schedBatch);
  } catch (err) {
    // Only an optimisation (a seccomp filter may forbid it): serve without it.
    const policy = task.schedBatch ? 'SCHED_BATCH' : 'SCHED_OTHER';
    parentPort?.postMessage({ socketboxWorkerWarning: `worker thread ${threadId}: cannot set ${policy}: ${(err as Error).message}; serving with the policy it has` });
  }
  const exit = addon.runLoop(task.loopId);
  // An abandoned loop stands for a dead worker: end this thread for real, so
  // supervision is exercised exactly as it would be after a crash.
  if (exit.status === LOOP_STATUS.abandoned) process.exit(70);
  return exit;
}

// The tasks the pool posts, one at a time; the loop's exit goes back as the result.
parentPort?.on('message', (task: { loopId: number; schedBatch: boolean }) => parentPort?.postMessage({ socketboxTaskResult: runAcceptLoop(task) }));
