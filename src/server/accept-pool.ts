import * as path from 'node:path';
import Piscina from 'piscina';
import type { LoopExit, LoopOptions, ServerAddon } from '../native/server-addon';
import { newStatsBlock, STAT_COUNT } from './stats-layout';

/** One native accept loop: the listeners it polls and its shared counters. */
interface Loop {
  id: number;
  stats: BigUint64Array;
}

/**
 * The worker threads, each running one native accept loop. The main thread
 * owns the listening sockets and the loops' lifetimes; workers only run them.
 */
export class AcceptPool {
  private readonly loops: Loop[] = [];
  private readonly pool: Piscina;
  private running: Promise<LoopExit[]> | undefined;
  private readonly loaded: Promise<void>;

  /** listenerGroups[i] are the descriptors loop i polls. */
  constructor(
    private readonly addon: ServerAddon,
    listenerGroups: number[][],
    options: LoopOptions,
  ) {
    if (addon.statCount !== STAT_COUNT) throw new Error('native and JavaScript counter layouts disagree; rebuild socketbox');
    for (const fds of listenerGroups) {
      const stats = newStatsBlock();
      this.loops.push({ id: addon.createLoop(fds, options, stats), stats });
    }
    this.pool = new Piscina({
      filename: path.join(__dirname, '..', 'workers', 'accept-worker.js'),
      minThreads: this.loops.length,
      maxThreads: this.loops.length,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
    });
    this.loaded = new Promise((resolve, reject) => {
      let count = 0;
      const timer = setTimeout(() => reject(new Error('the worker threads did not start within 30 s')), 30_000);
      this.pool.on('message', (m: { socketboxWorkerLoaded?: number } | null) => {
        if (m?.socketboxWorkerLoaded !== undefined && ++count === this.loops.length) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.pool.once('error', (err: Error) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Resolves once every worker has loaded its code: after that a chroot cannot hurt them. */
  whenLoaded(): Promise<void> {
    return this.loaded;
  }

  /** Validates once, then hands every loop its own copy: all switch to the same rules. */
  publish(table: Buffer): void {
    const problem = this.addon.tableValidate(table);
    if (problem) throw new Error(`internal error: compiled table rejected: ${problem}`);
    for (const loop of this.loops) this.addon.publishTable(loop.id, table);
  }

  /** Starts every loop; the promise settles when the first one ends for a reason of its own, or all stop. */
  start(onExit: (exit: LoopExit) => void): void {
    this.running = Promise.all(
      this.loops.map(async (loop) => {
        const exit = (await this.pool.run({ loopId: loop.id })) as LoopExit;
        if (exit.status !== 0) onExit(exit);
        return exit;
      }),
    );
  }

  /** Stop accepting, let every loop deliver what waits, then release everything. */
  async stop(): Promise<LoopExit[]> {
    for (const loop of this.loops) this.addon.stopLoop(loop.id);
    const exits = this.running ? await this.running : [];
    await this.pool.destroy();
    for (const loop of this.loops) this.addon.destroyLoop(loop.id);
    return exits;
  }

  /** Sum of each counter over all loops. */
  totals(): bigint[] {
    const sum = new Array<bigint>(STAT_COUNT).fill(0n);
    for (const loop of this.loops) for (let i = 0; i < STAT_COUNT; i++) sum[i] += Atomics.load(loop.stats, i);
    return sum;
  }
}
