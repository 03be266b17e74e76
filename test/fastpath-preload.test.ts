/**
 * Listener mode through libsocketbox-preload (docs/fast-path.md): an unmodified Python
 * http.server, in a network namespace of its own, binds [fe8f::4:0:0]:80 with
 * SKBOX_REGISTRATION_SOCKET set; the library registers for slot 0 in listener mode and puts
 * socketbox's listening socket in place of the daemon's, so the daemon's own accept() takes
 * the connections the kernel fast path queues. Proves: pages are served from several client
 * addresses, each logged with the true client address; the program assigned every one of
 * them (no accept loop touched them); and without a fast path (--no-fast-path) the same
 * daemon is served over its registration connection, through the accept loop.
 */
import { enterTestNetns } from '../testkit/netns';
enterTestNetns([5, 6, 7]);

import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Child } from '../testkit/child';
import { curl, Daemon } from './helpers/preload-fixtures';
import { binPath } from '../testkit/project-root';
import { tempDir } from '../testkit/temp-dir';
import { withoutSkboxSettings } from './helpers/preload-probe';
import { scrape, startSlotServer, waitForRegistered } from './helpers/registration';

const PORT = 8701;
const METRICS = 9701;
const { dir } = tempDir();
const www = path.join(dir, 'www');
fs.mkdirSync(www);
fs.writeFileSync(path.join(www, 'hello.txt'), 'hello from python\n');
const api = path.join(dir, 'api.sock');
const clients = ['fd00:1::5', 'fd00:1::6', 'fd00:1::7'];

async function serve(t: Test, extra: string[]): Promise<{ server: Child; python: Daemon }> {
  const server = await startSlotServer(t, { dir, api, apiMode: '0666', port: PORT, metricsPort: METRICS, extra });
  const env = { ...withoutSkboxSettings(process.env), SKBOX_REGISTRATION_SOCKET: api };
  const python = Daemon.start(['unshare', '-n', '--', binPath('run-with-socketbox'), 'python3', '-u', '-m', 'http.server', '--bind', 'fe8f::4:0:0', '--directory', www, '80'], env);
  t.teardown(() => python.stop());
  await waitForRegistered(METRICS, 1);
  return { server, python };
}

async function fetchPages(t: Test, python: Daemon): Promise<void> {
  for (const client of clients) t.equal(await curl(`http://[2001:db8::1]:${PORT}/hello.txt`, client), 'hello from python\n', `page fetched from ${client}`);
  for (const client of clients) t.match(python.output(), new RegExp(`${client.replace(/:/g, ':')}.*GET /hello.txt`), `the daemon logged ${client} as the client`);
}

t.test('an unmodified daemon in its own namespace accepts the fast path’s connections itself', async (t) => {
  const { python } = await serve(t, []);
  await fetchPages(t, python);
  const m = await scrape(METRICS);
  t.equal(m.get('socketbox_fastpath_decisions_total{decision="assigned"}'), clients.length, 'the program assigned every connection');
  t.equal(m.get('socketbox_connections_accepted_total{worker="0"}'), 0, 'no accept loop touched one');
  t.equal(m.get('socketbox_connections_delivered_total{target="o:0"}'), clients.length, 'delivered to o:0');
});

t.test('without a fast path the same daemon is served over its registration', async (t) => {
  const { python } = await serve(t, ['--no-fast-path']);
  await fetchPages(t, python);
  const m = await scrape(METRICS);
  t.equal(m.get('socketbox_connections_accepted_total{worker="0"}'), clients.length, 'the accept loop took every connection');
  t.equal(m.get('socketbox_connections_delivered_total{target="o:0"}'), clients.length, 'and delivered it over the registration');
});
