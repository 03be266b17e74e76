// A program a test starts and watches: its JSON stdout lines and stderr as they come, its exit.
import { ChildProcess } from 'node:child_process';
import { waitFor } from './wait';

/** A child process whose stdout JSON lines and stderr text are collected as they come. */
export class Child {
  readonly events: Array<Record<string, unknown>> = [];
  stderr = '';
  stdout = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private readonly exited: Promise<number | null>;

  constructor(readonly proc: ChildProcess) {
    let partial = '';
    proc.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      partial += d.toString();
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not every program prints JSON; the text stays in stdout
        }
      }
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.proc.pid as number;
  }

  waitForEvent(pred: (e: Record<string, unknown>) => boolean, timeoutMs = 10_000, what = 'an event'): Promise<void> {
    return waitFor(() => `${what}; stderr so far: ${this.stderr}`, () => this.events.some(pred), timeoutMs);
  }

  /** Resolves with the exit code (null when killed by a signal). */
  wait(timeoutMs = 15_000): Promise<number | null> {
    return Promise.race([
      this.exited,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`process ${this.pid} still running after ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs).unref(),
      ),
    ]);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.exitCode === null && this.exitSignal === null) this.proc.kill(signal);
    return this.wait();
  }
}

/** Stop every child, whatever state it is in; for t.teardown. */
export async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop('SIGKILL').catch(() => undefined)));
}
