// Worker thread: runs the native relay loop (blocking this thread, not the main one) and
// reports how it ended. The main thread stops it through the relay's eventfd.
import { parentPort, workerData } from 'node:worker_threads';
import { relayAddon } from './relay-addon';

const { relayId } = workerData as { relayId: number };
parentPort!.postMessage(relayAddon().runRelay(relayId));
