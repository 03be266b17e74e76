/**
 * What socketbox tells systemd over its life: READY=1 once serving,
 * RELOADING=1/READY=1 around each reload (Type=notify-reload), STOPPING=1,
 * a STATUS= summary kept fresh, and the watchdog keep-alive.
 */
import type { ServerAddon } from '../native/server-addon';
import { summarizeCounters } from './counters-summary';
import { SdNotifier } from './sd-notify';
import { whenLoopsAnswer } from './loops-answer';
import { LivenessProbe, watchdogUsec, WorkerWatchdog } from './systemd-watchdog';

/** The pool as seen from here: liveness and counters. */
export interface ServingPool extends LivenessProbe {
  totals(): bigint[];
}

const STATUS_REFRESH_MS = 5000;
const STATUS_REASON_MAX = 160;

export class SystemdLifecycle {
  private pool: ServingPool | undefined;
  private watchdog: WorkerWatchdog | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private lastStatus = '';
  private reloadProblem = '';
  private stopped = false;
  /** Set in the new process of a live upgrade: its first READY=1 says MAINPID= too. */
  private mainPid: number | undefined;

  constructor(
    private readonly notifier: SdNotifier,
    private readonly watchdogDeadlineUsec: number | undefined,
  ) {}

  /** undefined when NOTIFY_SOCKET is not set (or cannot be reached). Call before chroot. */
  static fromEnvironment(addon: ServerAddon): SystemdLifecycle | undefined {
    const notifier = SdNotifier.fromEnvironment(addon);
    return notifier && new SystemdLifecycle(notifier, watchdogUsec());
  }

  /**
   * Call once listeners listen, the table is published and the pool started:
   * waits until every worker's loop has answered a ping (so it really runs),
   * then READY=1, and starts the STATUS= refresh and the watchdog.
   */
  async serving(pool: ServingPool): Promise<void> {
    this.pool = pool;
    await whenLoopsAnswer(pool, () => this.stopped);
    if (this.stopped) return;
    this.notifier.ready(this.statusText(), this.mainPid);
    this.mainPid = undefined;
    this.statusTimer = setInterval(() => this.refreshStatus(), STATUS_REFRESH_MS);
    this.statusTimer.unref();
    if (this.watchdogDeadlineUsec !== undefined) {
      this.watchdog = new WorkerWatchdog(pool, () => this.notifier.watchdog());
      this.watchdog.start(this.watchdogDeadlineUsec);
    }
  }

  /** Started by a live upgrade: the first READY=1 makes this process the service's main one. */
  takeOverFrom(): void {
    this.mainPid = process.pid;
  }

  reloading(): void {
    if (!this.stopped) this.notifier.reloading('reloading the config');
  }

  /** READY=1 after every reload, also a failed one (the old rules still serve). */
  reloaded(failure?: string): void {
    if (this.stopped) return;
    this.reloadProblem = failure === undefined ? '' : failure.length > STATUS_REASON_MAX ? `${failure.slice(0, STATUS_REASON_MAX)}…` : failure;
    this.notifier.ready(this.statusText());
  }

  /** handedOver: a live upgrade's new process is the main one now; the manager hears nothing more from this one. */
  stopping(handedOver = false): void {
    if (this.stopped) return;
    this.stopped = true;
    this.watchdog?.stop();
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (!handedOver) this.notifier.stopping('stopping; delivering connections already accepted');
  }

  /** "serving; accepted 10, delivered 9, refused 1 (no_match 1)", and a failed reload while it is the latest. */
  private statusText(): string {
    const counters = this.pool ? `; ${summarizeCounters(this.pool.totals())}` : '';
    const problem = this.reloadProblem ? ` (reload failed, previous rules kept: ${this.reloadProblem})` : '';
    this.lastStatus = `serving${problem}${counters}`;
    return this.lastStatus;
  }

  private refreshStatus(): void {
    const previous = this.lastStatus;
    const text = this.statusText();
    if (text !== previous) this.notifier.status(text);
  }
}
