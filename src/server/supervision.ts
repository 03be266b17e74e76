/** How hard to try keeping a worker alive: restarts are spaced out and bounded. */
export interface RestartPolicy {
  /** More restarts than this within windowMs: give up. */
  maxRestarts: number;
  windowMs: number;
  firstBackoffMs: number;
  maxBackoffMs: number;
  /** A run this long counts as healthy and resets the back-off. */
  healthyRunMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  maxRestarts: 10,
  windowMs: 60_000,
  firstBackoffMs: 100,
  maxBackoffMs: 5_000,
  healthyRunMs: 10_000,
};

/** Tracks one worker's restarts: when the next may happen, and when to give up. */
export class RestartTracker {
  private recent: number[] = [];
  private backoffMs: number;

  constructor(private readonly policy: RestartPolicy) {
    this.backoffMs = policy.firstBackoffMs;
  }

  /** Records a failure after a run of runMs; returns the delay before restarting, or null to give up. */
  failed(now: number, runMs: number): number | null {
    if (runMs >= this.policy.healthyRunMs) this.backoffMs = this.policy.firstBackoffMs;
    this.recent = this.recent.filter((t) => t > now - this.policy.windowMs);
    this.recent.push(now);
    if (this.recent.length > this.policy.maxRestarts) return null;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.policy.maxBackoffMs);
    return delay;
  }
}
