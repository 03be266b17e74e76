import * as path from 'node:path';
import type { LoopExit, LoopOptions, ServerAddon } from '../native/server-addon';
import { LOOP_STATUS } from './loop-status';
import { newCounterBlock, STAT_COUNT, TARGET_SLOTS, TARGET_STAT_COUNT } from './stats-layout';
import { TargetSlots } from './target-slots';
import type { CompiledTable } from '../table/compile';
import { DEFAULT_RESTART_POLICY, RestartPolicy, RestartTracker } from './supervision';
import { ThreadPool } from './thread-pool';

/** What the pool tells its owner about its workers. */
export interface PoolEvents {
  /** A loop ended on its own for a reason that should end the process (status 10, 11). */
  onFatal(exit: LoopExit): void;
  onRestart(index: number, reason: string, delayMs: number): void;
  onGiveUp(index: number, reason: string): void;
  /** Something a worker could not do but works without (its scheduling policy). */
  onWarning(message: string): void;
}

/** One native accept loop: the listeners it polls and its shared counters. */
interface Loop {
  id: number;
  stats: BigUint64Array;
  targetStats: BigUint64Array;
  /** Ends the current run's worker thread for real (test support). */
  abort?: AbortController;
  state: WorkerState;
}

/** Where a worker is in its life, for `socketbox ctl status`. */
export type WorkerState = 'starting' | 'running' | 'restarting' | 'given up' | 'stopped';

/** How long a dead worker's loop may take to let go of it. */
const RECLAIM_TIMEOUT_MS = 2000;

/**
 * The worker threads, each running one native accept loop. The main thread
 * owns the listening sockets and the loops' lifetimes; workers only run them.
 */
export class AcceptPool {
  private readonly loops: Loop[] = [];
  private readonly pool: ThreadPool;
  private running: Promise<LoopExit[]> | undefined;
  private readonly loaded: Promise<void>;
  private restartCount = 0;
  private events: PoolEvents | undefined;
  /** The --source-rate table the loops share: the pool frees it after them. */
  private readonly sourceRate: number | undefined;

  /**
   * listenerGroups[i] are the descriptors loop i polls; schedBatch puts every
   * loop's thread in SCHED_BATCH (see native/server/thread_sched.c).
   */
  constructor(
    private readonly addon: ServerAddon,
    listenerGroups: number[][],
    options: LoopOptions,
    private readonly schedBatch: boolean,
    private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY,
  ) {
    if (addon.statCount !== STAT_COUNT || addon.targetSlots !== TARGET_SLOTS)
      throw new Error('native and JavaScript counter layouts disagree; rebuild socketbox');
    this.sourceRate = options.sourceRate;
    for (const fds of listenerGroups) {
      const stats = newCounterBlock(STAT_COUNT);
      const targetStats = newCounterBlock(TARGET_STAT_COUNT * TARGET_SLOTS);
      this.loops.push({ id: addon.createLoop(fds, options, stats, targetStats), stats, targetStats, state: 'starting' });
    }
    this.pool = new ThreadPool({
      filename: path.join(__dirname, '..', 'workers', 'accept-worker.js'),
      threads: this.loops.length,
      // The workers run native code only: they need none of the main
      // process's Node flags, nor a profiler's preloads (clinic passes them in
      // NODE_OPTIONS, which workers read from their own env, not execArgv):
      // each worker would write into the main thread's sample files.
      execArgv: [],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    // A worker blocked in its native loop cannot be interrupted, so an exit
    // that did not go through stop() (an uncaught error, a profiler's exit)
    // would wait for it forever: ask every loop to stop first.
    process.on('exit', this.stopLoopsOnExit);
    this.loaded = new Promise((resolve, reject) => {
      let count = 0;
      const timer = setTimeout(() => reject(new Error('the worker threads did not start within 30 s')), 30_000);
      this.pool.on('message', (m: { socketboxWorkerLoaded?: number; socketboxWorkerWarning?: string } | null) => {
        if (m?.socketboxWorkerWarning !== undefined) this.events?.onWarning(m.socketboxWorkerWarning);
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

  /** Counter slots of the targets, by name: shared by every loop and every table. */
  readonly targetSlots = new TargetSlots();

  private published: CompiledTable | undefined;

  /** Validates once, then hands every loop its own copy: all switch to the same rules. */
  publish(table: CompiledTable): void {
    const problem = this.addon.tableValidate(table.bytes);
    if (problem) throw new Error(`internal error: compiled table rejected: ${problem}`);
    const slots = Uint32Array.from(table.targetNames, (name) => this.targetSlots.slotFor(name));
    for (const loop of this.loops) this.addon.publishTable(loop.id, table.bytes, slots);
    this.published = table;
  }

  /** The table the loops route by now (the last one published): `ctl explain` asks it. */
  get liveTable(): CompiledTable | undefined {
    return this.published;
  }

  /** Each worker's state, in loop order. */
  workerStates(): WorkerState[] {
    return this.loops.map((loop) => loop.state);
  }

  /** Confine every loop's UNIX targets beneath a directory (--target-root). */
  setTargetRoot(rootFd: number, prefix: string, allowAbstract: boolean): void {
    for (const loop of this.loops) this.addon.setTargetRoot(loop.id, rootFd, prefix, allowAbstract);
  }

  /** Wake every loop; each counts a pong once it gets to it (see pongs()). */
  ping(): void {
    for (const loop of this.loops) this.addon.pingLoop(loop.id);
  }

  /** One target counter summed over all loops. */
  targetTotal(index: number): bigint {
    return this.loops.reduce((n, loop) => n + Atomics.load(loop.targetStats, index), 0n);
  }

  /** Starts every loop under supervision: a loop whose worker dies is run again on a new one. */
  start(events: PoolEvents): void {
    this.events = events;
    this.running = Promise.all(this.loops.map((loop, index) => this.supervise(loop, index, events)));
  }

  private async supervise(loop: Loop, index: number, events: PoolEvents): Promise<LoopExit> {
    const tracker = new RestartTracker(this.policy);
    for (;;) {
      const began = Date.now();
      let reason: string;
      loop.abort = new AbortController();
      loop.state = 'running';
      try {
        const task = { loopId: loop.id, schedBatch: this.schedBatch };
        const exit = (await this.pool.run(task, { signal: loop.abort.signal })) as LoopExit;
        if (exit.status !== LOOP_STATUS.abandoned && exit.status !== LOOP_STATUS.busy) {
          loop.state = 'stopped';
          if (exit.status !== 0) events.onFatal(exit);
          return exit;
        }
        reason = exit.status === LOOP_STATUS.busy ? 'its loop was still held by a dead thread' : 'its worker thread stopped running the loop';
      } catch (err) {
        reason = `its worker thread died: ${(err as Error).message}`;
      }
      // A thread can die while inside the native loop (terminate() cannot interrupt native
      // code): it would go on running the loop beside its successor. Take the loop back first.
      if (!this.addon.reclaimLoop(loop.id, RECLAIM_TIMEOUT_MS)) reason += `; its loop did not let go within ${RECLAIM_TIMEOUT_MS} ms`;
      // The loop's state (waiting connections, cached targets) lives in native
      // memory and the listeners in the main thread: nothing is lost meanwhile.
      const delay = tracker.failed(Date.now(), Date.now() - began);
      if (delay === null) {
        loop.state = 'given up';
        events.onGiveUp(index, reason);
        return { status: 1, errno: 0, error: `worker ${index} kept failing` };
      }
      this.restartCount++;
      loop.state = 'restarting';
      events.onRestart(index, reason, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Worker restarts so far, over all loops. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Test support: make loop `index` end as if its worker thread had died. */
  abandon(index: number): void {
    this.addon.abandonLoop(this.loops[index % this.loops.length].id);
  }

  /** Test support: terminate the worker thread running loop `index`, in the middle of its loop. */
  terminateWorker(index: number): void {
    this.loops[index % this.loops.length].abort?.abort(new Error('worker thread terminated'));
  }

  get size(): number {
    return this.loops.length;
  }

  private readonly stopLoopsOnExit = (): void => {
    for (const loop of this.loops) this.addon.stopLoop(loop.id);
  };

  /**
   * Stop accepting, let every loop deliver what waits, then release everything. handOver (a
   * live upgrade): no listener's kernel backlog is taken, the new process accepts it.
   */
  async stop(handOver = false): Promise<LoopExit[]> {
    process.off('exit', this.stopLoopsOnExit);
    for (const loop of this.loops) {
      if (handOver) this.addon.handOverLoop(loop.id);
      else this.addon.stopLoop(loop.id);
    }
    const exits = this.running ? await this.running : [];
    await this.pool.destroy();
    for (const loop of this.loops) this.addon.destroyLoop(loop.id);
    if (this.sourceRate !== undefined) this.addon.destroySourceRate(this.sourceRate);
    return exits;
  }

  /** One counter of every loop, in loop order. */
  perLoop(stat: number): bigint[] {
    return this.loops.map((loop) => Atomics.load(loop.stats, stat));
  }

  /** Sum of each counter over all loops. */
  totals(): bigint[] {
    const sum = new Array<bigint>(STAT_COUNT).fill(0n);
    for (const loop of this.loops) for (let i = 0; i < STAT_COUNT; i++) sum[i] += Atomics.load(loop.stats, i);
    return sum;
  }
}
