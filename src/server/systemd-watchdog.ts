/**
 * The systemd watchdog (WatchdogSec=): WATCHDOG=1 is sent from the main
 * thread, and only while every worker's accept loop proves it still runs by
 * answering a ping, so that a stuck worker gets the service restarted.
 */
import { logError, logInfo } from './log';
import { STAT } from './stats-layout';

/**
 * The keep-alive deadline in µs, as sd_watchdog_enabled(3) reads it:
 * WATCHDOG_USEC, unless WATCHDOG_PID names another process.
 */
export function watchdogUsec(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || !/^[0-9]+$/.test(usec) || Number(usec) === 0) return undefined;
  const forPid = env.WATCHDOG_PID;
  if (forPid !== undefined && Number(forPid) !== pid) return undefined;
  return Number(usec);
}

/** What the watchdog needs of the pool: wake every loop, read their pong counters. */
export interface LivenessProbe {
  ping(): void;
  perLoop(stat: number): bigint[];
}

export class WorkerWatchdog {
  private pongsAtPing: bigint[] | undefined;
  private silentBefore = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly probe: LivenessProbe,
    private readonly keepAlive: () => void,
  ) {}

  /** Ticks at half the deadline, as systemd recommends; the first ping goes out now. */
  start(deadlineUsec: number): void {
    const periodMs = Math.max(1, Math.floor(deadlineUsec / 2000));
    this.tick();
    this.timer = setInterval(() => this.tick(), periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One round: keep alive if every loop answered the previous ping (its pong
   * counter moved since), then ping again. No ping yet: nothing to judge.
   */
  tick(): void {
    const pongs = this.probe.perLoop(STAT.pongs);
    if (this.pongsAtPing) {
      const before = this.pongsAtPing;
      const silent = pongs.flatMap((n, i) => (n > before[i] ? [] : [i]));
      if (silent.length === 0) {
        if (this.silentBefore) logInfo('watchdog: every worker answers again; WATCHDOG=1 resumes');
        this.silentBefore = false;
        this.keepAlive();
      } else if (!this.silentBefore) {
        this.silentBefore = true;
        logError(`watchdog: worker ${silent.join(', ')} did not answer; withholding WATCHDOG=1`);
      }
    }
    // Read before pinging: a pong that arrives in between counts for this ping.
    this.pongsAtPing = pongs;
    this.probe.ping();
  }
}
