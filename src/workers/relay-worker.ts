// Worker thread of socketbox-relay (started by src/relay/relay-thread.ts): runs the native
// relay loop (blocking this thread, not the main one) and reports how it ended. The main
// thread stops it through the relay's eventfd.
import { parentPort, workerData } from 'node:worker_threads';
import { relayAddon } from '../relay/relay-addon';

const { relayId } = workerData as { relayId: number };
parentPort!.postMessage(relayAddon().runRelay(relayId));
