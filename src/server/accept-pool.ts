import type { LoopExit, LoopOptions, ServerAddon } from '../native/server-addon';
import { LOOP_STATUS } from './loop-status';
import { newCounterBlock, STAT_COUNT, TARGET_SLOTS, TARGET_STAT_COUNT } from './stats-layout';
import { TargetSlots } from './target-slots';
import type { CompiledTable } from '../table/compile';
import { DEFAULT_RESTART_POLICY, RestartPolicy, RestartTracker } from './supervision';

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
  state: WorkerState;
}

/** Where a worker is in its life, for `socketbox ctl status`. */
export type WorkerState = 'starting' | 'running' | 'restarting' | 'given up' | 'stopped';

/**
 * The workers: native accept loops, each run on a thread of its own (native/server/loop_thread.c),
 * a plain thread with no JavaScript runtime: starting one costs a millisecond, where a Node.js
 * worker thread took most of the first connection's wait after socket activation. The main
 * thread owns the listening sockets and the loops' lifetimes; the threads only run them.
 */
export class AcceptPool {
  private readonly loops: Loop[] = [];
  private running: Promise<LoopExit[]> | undefined;
  private restartCount = 0;
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

  /** Starts every loop under supervision: a loop that leaves its thread is run again on a new one. */
  start(events: PoolEvents): void {
    this.running = Promise.all(this.loops.map((loop, index) => this.supervise(loop, index, events)));
  }

  private async supervise(loop: Loop, index: number, events: PoolEvents): Promise<LoopExit> {
    const tracker = new RestartTracker(this.policy);
    for (;;) {
      const began = Date.now();
      let reason: string;
      loop.state = 'running';
      try {
        const exit = await this.runOnThread(loop, index, events);
        if (exit.status !== LOOP_STATUS.abandoned && exit.status !== LOOP_STATUS.busy) {
          loop.state = 'stopped';
          if (exit.status !== 0) events.onFatal(exit);
          return exit;
        }
        reason = exit.status === LOOP_STATUS.busy ? 'its loop was still held by another thread' : 'its thread stopped running the loop';
      } catch (err) {
        reason = `its thread could not be started: ${(err as Error).message}`;
      }
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

  /** One run of the loop on a new thread, until it returns. */
  private runOnThread(loop: Loop, index: number, events: PoolEvents): Promise<LoopExit> {
    return new Promise((resolve) => {
      const refused = this.addon.startLoopThread(loop.id, this.schedBatch, resolve);
      // Only an optimisation (a seccomp filter or SCHED_IDLE may forbid it): serve without it.
      const policy = this.schedBatch ? 'SCHED_BATCH' : 'SCHED_OTHER';
      if (refused !== null) events.onWarning(`worker ${index}: cannot set ${policy}: ${refused}; serving with the policy it has`);
    });
  }

  /** Worker restarts so far, over all loops. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Test support: make loop `index` leave its thread as if the thread had died. */
  abandon(index: number): void {
    this.addon.abandonLoop(this.loops[index % this.loops.length].id);
  }

  get size(): number {
    return this.loops.length;
  }

  /**
   * Stop accepting, let every loop deliver what waits, then release everything. handOver (a
   * live upgrade): no listener's kernel backlog is taken, the new process accepts it.
   */
  async stop(handOver = false): Promise<LoopExit[]> {
    for (const loop of this.loops) {
      if (handOver) this.addon.handOverLoop(loop.id);
      else this.addon.stopLoop(loop.id);
    }
    const exits = this.running ? await this.running : [];
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
