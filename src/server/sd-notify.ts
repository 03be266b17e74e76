/**
 * sd_notify(3): state changes told to the service manager as "KEY=VALUE"
 * lines in one datagram to NOTIFY_SOCKET (a path, or '@' for abstract).
 */
import type { ServerAddon } from '../native/server-addon';
import { logError, logInfo } from './log';

export type NotifyFields = Record<string, string | number | bigint>;

/** CLOCK_MONOTONIC in µs: libuv's hrtime reads that clock on Linux, as systemd does. */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** Values are one line each: a newline would start a field of its own. */
export function formatNotification(fields: NotifyFields): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key}=${String(value).replace(/[\r\n]+/g, ' ')}\n`)
    .join('');
}

export class SdNotifier {
  private failing = false;

  private constructor(
    private readonly addon: ServerAddon,
    private readonly fd: number,
    readonly address: string,
  ) {}

  /**
   * A notifier for NOTIFY_SOCKET, or undefined when it is not set. Connects
   * now, before chroot and the change of user, so that a path socket keeps
   * working afterwards. A socket that cannot be reached is reported, not fatal.
   */
  static fromEnvironment(addon: ServerAddon, env: NodeJS.ProcessEnv = process.env): SdNotifier | undefined {
    const address = env.NOTIFY_SOCKET;
    if (!address) return undefined;
    try {
      return new SdNotifier(addon, addon.notifySocketOpen(address), address);
    } catch (err) {
      logError(`NOTIFY_SOCKET: ${(err as Error).message}; not notifying the service manager`);
      return undefined;
    }
  }

  /** Sends the fields in one datagram; reports the first failure and the recovery, not every one. */
  send(fields: NotifyFields): boolean {
    try {
      this.addon.notifySocketSend(this.fd, formatNotification(fields));
      if (this.failing) logInfo(`NOTIFY_SOCKET ${this.address}: notifications go through again`);
      this.failing = false;
      return true;
    } catch (err) {
      if (!this.failing) logError(`NOTIFY_SOCKET ${this.address}: ${(err as Error).message}`);
      this.failing = true;
      return false;
    }
  }

  /** mainPid: after a live upgrade, the new process tells the manager it is the main one now. */
  ready(status: string, mainPid?: number): void {
    this.send({ ...(mainPid === undefined ? {} : { MAINPID: mainPid }), READY: 1, STATUS: status });
  }

  /** For Type=notify-reload: the timestamp tells this reload from an earlier one. */
  reloading(status: string): void {
    this.send({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec(), STATUS: status });
  }

  stopping(status: string): void {
    this.send({ STOPPING: 1, STATUS: status });
  }

  status(text: string): void {
    this.send({ STATUS: text });
  }

  watchdog(): void {
    this.send({ WATCHDOG: 1 });
  }
}
