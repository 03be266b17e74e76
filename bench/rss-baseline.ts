// The benchmark's memory baseline: a bare Node process with one worker thread that does
// nothing, which is the least socketbox --workers 1 (a main thread and one accept thread) can
// be. It prints "ready" once the worker runs, then idles until SIGTERM.
//   node dist/bench/rss-baseline.js
import { Worker } from 'node:worker_threads';

const worker = new Worker('setInterval(() => undefined, 1 << 30);', { eval: true });
worker.once('online', () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => process.exit(0));
