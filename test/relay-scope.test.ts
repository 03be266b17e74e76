// A link-local backend needs its interface: -I IFACE or -n ID gives the scope id, which a
// bare fe80:: address cannot carry. Without it the connect fails and the client is closed.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { waitFor } from '../testkit/wait';
import { relayExchange } from './helpers/relay-client';
import { startFrontAndRelay, type RunningProgram } from './helpers/relay-process';
import { tempDir } from '../testkit/temp-dir';

execFileSync('ip', ['addr', 'add', 'fe80::1/64', 'dev', 'lo']);
const LO_INDEX = Number(fs.readFileSync('/sys/class/net/lo/ifindex', 'utf8').trim());

const FRONT_PORT = 8080;
const BACKEND_PORT = 9000;

async function linkLocalBackend(t: Test): Promise<void> {
  const server = net.createServer((s) => s.end(`reached ${s.localAddress}`));
  await new Promise<void>((resolve) => server.listen({ host: 'fe80::1%lo', port: BACKEND_PORT }, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

async function front(t: Test, args: string[]): Promise<RunningProgram> {
  const tmp = tempDir();
  const { relay, stop } = await startFrontAndRelay(tmp.dir, FRONT_PORT, ['-c', 'fe80::1', '-p', String(BACKEND_PORT), ...args]);
  t.teardown(async () => {
    await stop();
    tmp.remove();
  });
  return relay;
}

for (const [flag, value] of [['-I', 'lo'], ['-n', String(LO_INDEX)]]) {
  t.test(`${flag} ${value}: the link-local backend is reached`, async (t) => {
    await linkLocalBackend(t);
    await front(t, [flag, value]);
    const r = await relayExchange({ host: '2001:db8::1', port: FRONT_PORT });
    t.equal(r.output.toString(), 'reached fe80::1%lo');
  });
}

t.test('without a scope the connect fails, and says so', async (t) => {
  await linkLocalBackend(t);
  const relay = await front(t, []);
  const r = await relayExchange({ host: '2001:db8::1', port: FRONT_PORT, allowReset: true });
  t.equal(r.output.length, 0);
  await waitFor('the failure in the log', () => /cannot connect to the backend: Invalid argument/.test(relay.stderr()));
});
