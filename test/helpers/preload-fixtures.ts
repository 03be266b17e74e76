// Shared set-up for the libsocketbox-preload tests: record directories, waiting for UNIX
// sockets to be bound, handing connections to a datagram socket by hand, running socketbox
// and curl.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClientAddon } from '../../src/clients/load-client-addon';
import { encodeRecords } from '../../src/preload/record-file';
import { handoverConnection, type HandoverConnection } from './handover-connection';
import { waitFor } from '../../testkit/wait';
import { isListening } from '../../testkit/proc-tcp';
import { unixSocketBound } from '../../testkit/proc-unix';
import { binPath } from '../../testkit/project-root';

/** Writes DIR/skbox_dir_GGGGG with the given slot -> path records. */
export function writeRecordFile(dir: string, group: number, records: Record<number, string>): void {
  const map = new Map(Object.entries(records).map(([slot, p]) => [Number(slot), p] as [number, string]));
  fs.writeFileSync(path.join(dir, `skbox_dir_${String(group).padStart(5, '0')}`), encodeRecords(map));
}

export function waitForUnixSocket(socketPath: string, child?: ChildProcess, timeoutMs = 15_000): Promise<void> {
  return waitFor(
    `a socket bound at ${socketPath}`,
    () => {
      if (child && child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before binding ${socketPath}`);
      return unixSocketBound(socketPath);
    },
    timeoutMs,
  );
}

/** Sends descriptors to a datagram socket the way socketbox does, never blocking the test. */
export class DescriptorSender {
  private readonly addon = loadClientAddon();
  private readonly sock = this.addon.openDatagramSocket();

  async send(fds: number[], target: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!this.addon.sendFds(this.sock, fds, target, false)) {
      if (Date.now() > deadline) throw new Error(`receiver at ${target} did not drain its queue`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** A loopback TCP connection whose server side is handed to target; the client side stays. */
  async handOver(target: string): Promise<HandoverConnection> {
    const conn = await handoverConnection('::1');
    await this.send([conn.fd], target);
    conn.release();
    return conn;
  }

  close(): void {
    fs.closeSync(this.sock);
  }
}

/** A long-running child whose output is collected; stop() sends SIGTERM, then SIGKILL. */
export class Daemon {
  stdout = '';
  stderr = '';
  readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static start(command: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): Daemon {
    return new Daemon(spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env, cwd }));
  }

  output(): string {
    return this.stdout + this.stderr;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(killer);
  }
}

/** socketbox with a classic config, listening on [::]:port. */
export async function startSocketbox(configText: string, dir: string, port = 80): Promise<Daemon> {
  const config = path.join(dir, 'socketbox.conf');
  fs.writeFileSync(config, configText);
  const daemon = Daemon.start([binPath('socketbox'), '-f', config, '-l', '::', '-p', String(port)]);
  await waitFor(
    `socketbox listening on port ${port}`,
    () => {
      if (daemon.child.exitCode !== null) throw new Error(`socketbox exited ${daemon.child.exitCode}: ${daemon.stderr}`);
      return isListening(port);
    },
    15_000,
  );
  return daemon;
}

/** curl URL from a chosen local address; resolves with the body (rejects on failure). */
export function curl(url: string, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'curl',
      ['-sS', '-g', '--max-time', '10', '--interface', localAddress, '--fail', url],
      { timeout: 15_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`curl ${url}: ${stderr || error.message}`)) : resolve(stdout)),
    );
  });
}
