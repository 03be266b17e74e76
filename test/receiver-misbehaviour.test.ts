/**
 * Misbehaving receivers, end to end in a private network namespace:
 * one config routes to four targets — a healthy receiver, one that never
 * reads, one whose socket is closed (the socket file stays behind), one whose
 * socket file was replaced by a regular file. Under a load to all four the
 * healthy one gets every connection, socketbox keeps serving, counts each
 * failure under its reason (never-read: `timeout` after --dispatch-timeout;
 * closed and replaced: `target_missing`), keeps `accepted = delivered +
 * refused`, and holds no descriptor it did not hold before.
 */
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { fdCount } from '../testkit/proc-fds';
import { heldTcpConnections, waitForListening } from '../testkit/proc-tcp';
import { Child, stopAll } from '../testkit/child';
import { startSocketbox } from '../testkit/socketbox';
import { startDrainReceiver } from '../testkit/fd-tool';
import { LoadResult, runLoad } from '../testkit/load-generator';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-misbehave-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const PORT = 8800;

/** Server address per target: the config routes on the local address (AnyIP). */
const HOST = { healthy: '2001:db8::1', silent: '2001:db8::2', closed: '2001:db8::3', replaced: '2001:db8::4' } as const;
type Name = keyof typeof HOST;
const socketPath = (name: Name) => path.join(dir, `${name}.sock`);

const CONFIG = [
  'max-rules:1',
  'rule-set:0 size:4',
  ...(Object.keys(HOST) as Name[]).map((name) => `ip:${HOST[name]} jump-unix:${socketPath(name)}`),
  'default fail',
].join('\n');

const startDrain = (name: Name, hold = false): Promise<Child> => startDrainReceiver(socketPath(name), name, { hold });

/** `connections` to one target, each bounded by timeoutMs. */
const load = (name: Name, connections: number, inFlight: number, timeoutMs = 10_000): Promise<LoadResult> =>
  runLoad({ hosts: [HOST[name]], port: PORT, connections, inFlight, timeoutMs });

interface StopLine {
  accepted: number;
  delivered: number;
  refused: number;
  reasons: Map<string, number>;
}

/** "socketbox: stopped; accepted N, delivered N, refused N (reason n, …)". */
function parseStopLine(stderr: string): StopLine | null {
  const m = /^socketbox: stopped; accepted (\d+), delivered (\d+), refused (\d+)(?: \(([^)]*)\))?/m.exec(stderr);
  if (!m) return null;
  const reasons = new Map<string, number>();
  for (const part of (m[4] ?? '').split(', ').filter(Boolean)) {
    const [name, n] = part.split(' ');
    reasons.set(name, Number(n));
  }
  return { accepted: Number(m[1]), delivered: Number(m[2]), refused: Number(m[3]), reasons };
}

t.test('a healthy receiver keeps getting everything while three others misbehave', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const qlen = Number(fs.readFileSync('/proc/sys/net/unix/max_dgram_qlen', 'utf8'));

  const healthy = await startDrain('healthy');
  const silent = await startDrain('silent', true); // binds, never reads: its queue fills
  const closed = await startDrain('closed');
  const replaced = await startDrain('replaced');
  children.push(healthy, silent, closed, replaced);
  const configFile = path.join(dir, 'socketbox.conf');
  fs.writeFileSync(configFile, CONFIG);
  const server = startSocketbox(['--dispatch-timeout', '1s', '-f', configFile, '-l', '::', '-p', String(PORT)]);
  children.push(server);
  await waitForListening(PORT);

  // Warm-up: socketbox connects to (and caches) the targets that later fail, so the
  // failures hit a connected socket first, then the reconnect.
  let made = 0;
  for (const name of ['healthy', 'closed', 'replaced'] as const) {
    const r = await load(name, 20, 4);
    made += 20;
    t.equal(r.byReceiver.get(name), 20, `warm-up: ${name} answers`);
  }
  const warmDelivered = 60;
  await waitFor('warm-up connections handed over', () => heldTcpConnections(server.pid) === 0, 5000);
  const baseline = fdCount(server.pid);

  // The misbehaviour. A receiver's socket closes when its process dies; the file stays.
  closed.proc.kill('SIGKILL');
  await closed.wait();
  t.ok(fs.statSync(socketPath('closed')).isSocket(), 'the closed receiver left its socket file behind');
  replaced.proc.kill('SIGKILL');
  await replaced.wait();
  fs.rmSync(socketPath('replaced'));
  fs.writeFileSync(socketPath('replaced'), 'not a socket any more\n');

  const COUNTS = { healthy: 3000, silent: 60, closed: 500, replaced: 500 };
  const started = Date.now();
  const [h, s, c, r] = await Promise.all([
    load('healthy', COUNTS.healthy, 32),
    load('silent', COUNTS.silent, 20, 4000),
    load('closed', COUNTS.closed, 16),
    load('replaced', COUNTS.replaced, 16),
  ]);
  made += COUNTS.healthy + COUNTS.silent + COUNTS.closed + COUNTS.replaced;
  t.comment(`load to four targets took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.equal(h.delivered, COUNTS.healthy, 'the healthy receiver answered 100 %');
  t.equal(h.byReceiver.get('healthy'), COUNTS.healthy, '… every one of them itself');
  t.equal(s.delivered, 0, 'the silent receiver answered nothing');
  t.equal(c.delivered, 0, 'the closed receiver answered nothing');
  t.equal(r.delivered, 0, 'the replaced receiver answered nothing');

  const again = await load('healthy', 200, 16);
  made += 200;
  t.equal(again.delivered, 200, 'socketbox keeps serving the healthy receiver afterwards');
  t.equal(server.exitCode, null, 'socketbox is still running');

  await waitFor('no connection held by socketbox', () => heldTcpConnections(server.pid) === 0, 5000).catch(() => undefined);
  t.equal(heldTcpConnections(server.pid), 0, 'socketbox holds no accepted connection');
  await waitFor('descriptors back to the baseline', () => fdCount(server.pid) <= baseline, 5000).catch(() => undefined);
  t.ok(fdCount(server.pid) <= baseline, `descriptors back to the baseline (${fdCount(server.pid)} <= ${baseline})`);

  t.equal(await server.stop(), 0, 'socketbox stops cleanly');
  const stop = parseStopLine(server.stderr);
  t.ok(stop, `the stop line is there: ${server.stderr.split('\n').find((l) => l.includes('stopped')) ?? server.stderr}`);
  if (!stop) return;
  t.equal(stop.accepted, made, 'accepted every connection the clients made');
  t.equal(stop.accepted, stop.delivered + stop.refused, 'accepted = delivered + refused');
  t.equal([...stop.reasons.values()].reduce((a, b) => a + b, 0), stop.refused, 'the reasons add up to refused');
  t.same([...stop.reasons.keys()].sort(), ['target_missing', 'timeout'], 'refused as target_missing and timeout only');
  t.equal(stop.reasons.get('target_missing'), COUNTS.closed + COUNTS.replaced, 'target_missing: every connection to the closed and the replaced receiver');
  // What the silent receiver's queue took counts as delivered (handed over), the rest waited 1 s and timed out.
  const queued = stop.delivered - (warmDelivered + COUNTS.healthy + 200);
  t.ok(queued >= 1 && queued <= qlen + 1, `the silent receiver's queue took ${queued} (max_dgram_qlen ${qlen}, +1)`);
  t.equal(stop.reasons.get('timeout'), COUNTS.silent - queued, 'timeout: the rest of the connections to the silent receiver');
});
