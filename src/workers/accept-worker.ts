import { LoopExit, serverAddon } from '../native/server-addon';

/**
 * A piscina task: run one native accept loop on this worker thread until the
 * main thread asks it to stop. The loop needs no JavaScript per connection.
 */
export default function runAcceptLoop(task: { loopId: number }): LoopExit {
  return serverAddon().runLoop(task.loopId);
}
