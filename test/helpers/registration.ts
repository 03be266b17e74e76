/**
 * Running the registration side of socketbox in tests: a JSON-config server,
 * socketbox-inetd-p receivers (as root or as another uid), the raw protocol
 * tool, and a scrape of the server's metrics.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Test } from 'tap';
import { Child } from '../../testkit/child';
import { waitFor } from '../../testkit/wait';
import { SOCKETBOX } from '../../testkit/socketbox';
import { programFor } from './runnable-by';

export const NOBODY = 65534;
const TOOL = path.join(__dirname, 'registration_tool.py');

/** Writes config as JSON and starts `socketbox -f FILE --metrics PORT`. */
export function startJsonServer(file: string, config: unknown, metricsPort: number, extra: string[] = []): Child {
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return new Child(spawn(SOCKETBOX, ['-f', file, '--metrics', String(metricsPort), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/**
 * A JSON-config server listening on [::]:port that sends 2001:db8::1 to registration slot 0, its
 * registration socket at api (with apiMode): the fast-path tests' server. Killed when the test
 * ends; resolves once the registration socket is up.
 */
export async function startSlotServer(
  t: Test,
  o: { dir: string; api: string; apiMode?: string; port: number; metricsPort: number; extra: string[] },
): Promise<Child> {
  const config = {
    'socketbox-version': 1,
    incoming: [{ address: '::', port: o.port }],
    paths: [{ socket: o.api, ...(o.apiMode === undefined ? {} : { mode: o.apiMode }) }],
    outgoing: [{ uid: 0, path_nr: 0 }],
    rules: { _start: { type: 'rule', rules: [{ l_ip: '2001:db8::1', jump: 'o:0' }] } },
  };
  const server = startJsonServer(path.join(o.dir, 'socketbox.json'), config, o.metricsPort, o.extra);
  t.teardown(() => server.stop('SIGKILL').catch(() => undefined));
  await waitForSample(o.metricsPort, 'socketbox_registration_connections', (v) => v !== undefined, 15_000);
  return server;
}

/**
 * socketbox-inetd-p SOCKET SLOT sh -c '…' as uid: each connection gets the
 * line "NAME uid=UID", then the first line it sends echoed back.
 */
export function startInetdP(socketPath: string, slot: number, name: string, uid = 0): Child {
  const program = ['sh', '-c', 'echo "$0 uid=$(id -u)"; head -n 1', name];
  const args = [programFor(uid, 'socketbox-inetd-p'), socketPath, String(slot), ...program];
  const cmd = uid === 0 ? args : ['setpriv', '--reuid', String(uid), '--regid', String(uid), '--clear-groups', ...args];
  return new Child(spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: process.env.PATH } }));
}

/** registration_tool.py MODE ARGS… → its JSON report. */
export async function registrationTool(args: string[]): Promise<Record<string, number>> {
  const c = new Child(spawn('python3', [TOOL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const status = await c.wait(60_000);
  if (status !== 0 || c.events.length === 0) throw new Error(`registration_tool ${args.join(' ')}: status ${status}, ${c.stderr}`);
  return c.events[0] as Record<string, number>;
}

/** GET /metrics → value of each sample line, keyed by `name{labels}`. */
export function scrape(port: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          const samples = new Map<string, number>();
          for (const line of body.split('\n')) {
            const m = /^(socketbox_[^ ]+) ([0-9.e+-]+)$/.exec(line);
            if (m) samples.set(m[1], Number(m[2]));
          }
          resolve(samples);
        });
      })
      .on('error', reject);
  });
}

/** Waits until the server reports n slots with a registered receiver. */
export function waitForRegistered(metricsPort: number, n: number, timeoutMs = 15_000): Promise<void> {
  return waitForSample(metricsPort, 'socketbox_registered_slots', (v) => v === n, timeoutMs);
}

/** Waits until the sample `key` (e.g. `socketbox_connections_pending{target="o:0"}`) satisfies ok; undefined while absent. */
export async function waitForSample(metricsPort: number, key: string, ok: (v: number | undefined) => boolean, timeoutMs = 10_000): Promise<void> {
  let v: number | undefined;
  const sample = async (): Promise<boolean> => ok((v = (await scrape(metricsPort).catch(() => new Map<string, number>())).get(key)));
  await waitFor(() => `${key} (now ${v})`, sample, timeoutMs, 20);
}
