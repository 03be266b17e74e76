/**
 * socketbox-relay in listener mode (-R SOCKET:SLOT, docs/fast-path.md): it registers for a
 * slot, accepts the connections the kernel fast path queues on the socket of its grant, and
 * relays them to a TCP backend. Proves: bytes flow both ways for every connection, every one
 * was assigned by the BPF program (no accept loop touched one); without a fast path
 * (--no-fast-path) the same relay is served over its registration; and when socketbox stops,
 * the relay exits 0.
 */
import { enterTestNetns } from '../testkit/netns';
enterTestNetns([5]);

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { binPath } from '../testkit/project-root';
import { Child } from '../testkit/child';
import { startEchoBackend } from './helpers/relay-backends';
import { relayExchange } from './helpers/relay-client';
import { scrape, startSlotServer, waitForRegistered } from './helpers/registration';

const PORT = 8801;
const METRICS = 9801;
const CONNECTIONS = 10;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-fastpath-relay-'));
const api = path.join(dir, 'api.sock');
const RELAY = binPath('socketbox-relay');

async function relayed(t: Test, extra: string[]): Promise<{ server: Child; relay: Child }> {
  const backend = await startEchoBackend('::1');
  t.teardown(() => backend.close());
  const server = await startSlotServer(t, { dir, api, port: PORT, metricsPort: METRICS, extra });
  const relay = new Child(spawn(RELAY, ['-R', `${api}:0`, '-c', '::1', '-p', String(backend.port), '-q'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  t.teardown(() => relay.stop('SIGKILL').catch(() => undefined));
  await waitForRegistered(METRICS, 1);
  for (let i = 0; i < CONNECTIONS; i++) {
    const r = await relayExchange({ host: '2001:db8::1', port: PORT, input: `bytes ${i}\n`, localAddress: 'fd00:1::5' });
    if (r.output.toString() !== `bytes ${i}\n`) t.fail(`connection ${i}: got ${JSON.stringify(r.output.toString())}`);
  }
  t.pass(`${CONNECTIONS} connections relayed to the echo backend and back`);
  t.equal(backend.accepted(), CONNECTIONS, 'the backend saw each of them');
  return { server, relay };
}

t.test('the relay accepts the fast path’s connections on the socket of its grant', async (t) => {
  const { server, relay } = await relayed(t, []);
  const m = await scrape(METRICS);
  t.equal(m.get('socketbox_fastpath_decisions_total{decision="assigned"}'), CONNECTIONS, 'the program assigned every one');
  t.equal(m.get('socketbox_connections_accepted_total{worker="0"}'), 0, 'no accept loop touched one');
  await server.stop();
  t.equal(await relay.wait(), 0, 'when socketbox stops, the relay exits 0');
});

t.test('without a fast path the relay is served over its registration', async (t) => {
  const { relay } = await relayed(t, ['--no-fast-path']);
  t.match(relay.stderr, /the server has no fast path; relaying slot 0 over the registration/, 'the relay says how it is served');
  const m = await scrape(METRICS);
  t.equal(m.get('socketbox_connections_accepted_total{worker="0"}'), CONNECTIONS, 'the accept loop took every connection');
  t.equal(m.get('socketbox_connections_delivered_total{target="o:0"}'), CONNECTIONS, 'and delivered it over the registration');
});
