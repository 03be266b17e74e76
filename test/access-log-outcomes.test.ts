/**
 * The access log's outcome words are the metrics' reason labels, driven for real in a
 * private network namespace: one server refuses connections in seven ways (no_match, fail,
 * loop, target_missing, outside_root, queue_full, timeout) and delivers others, and every
 * word its --access-log writes is `delivered` or a reason of
 * socketbox_connections_refused_total, with one line per counted connection. Both come from
 * the same list in native/server/stats.h (native-contracts.test.ts checks the list itself).
 */
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { REFUSAL_REASONS } from '../src/server/stats-layout';
import { talk } from './helpers/client';
import { scrape, sum, value } from './helpers/metrics';
import { Child, stopAll } from '../testkit/child';
import { startDrainReceiver, startReceiver } from '../testkit/fd-tool';
import { startSocketbox } from '../testkit/socketbox';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';

const PORT = 8701;
const METRICS_PORT = 9701;
/** Connections to the receiver that reads nothing: its queue (10 messages) fills, one waits, the rest find the queue full. */
const TO_HELD = 16;
const OUTCOME = / outcome=([a-z_]+) /;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-outcomes-'));
const root = path.join(dir, 'root');
fs.mkdirSync(root);
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A connection left open; resolves once connected, or reset (a refusal may come before Node sees the connect). */
function connectAndHold(host: string, sockets: net.Socket[]): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port: PORT }, () => resolve());
    sock.on('error', () => resolve());
    sockets.push(sock);
  });
}

const words = (server: Child): string[] => server.stderr.split('\n').flatMap((line) => OUTCOME.exec(line)?.[1] ?? []);

t.test('every outcome word the access log writes is counted under that word', async (t) => {
  const children: Child[] = [];
  const sockets: net.Socket[] = [];
  t.teardown(async () => {
    sockets.forEach((s) => s.destroy());
    await stopAll(children);
  });
  children.push(await startReceiver(path.join(root, 'ok.sock'), 'ok'));
  children.push(await startDrainReceiver(path.join(root, 'held.sock'), 'held', { hold: true }));
  const conf = path.join(dir, 'outcomes.conf');
  fs.writeFileSync(
    conf,
    [
      'max-rules:2',
      'rule-set:0',
      'size:6',
      `ip:2001:db8::1 jump-unix:${root}/ok.sock`,
      'ip:2001:db8::3 fail',
      'ip:2001:db8::4 jump-rule:1',
      `ip:2001:db8::5 jump-unix:${root}/missing.sock`,
      `ip:2001:db8::6 jump-unix:${dir}/outside.sock`,
      `ip:2001:db8::7 jump-unix:${root}/held.sock`,
      'rule-set:1',
      'default jump-rule:1',
      '',
    ].join('\n'),
  );
  const server = startSocketbox([
    '--access-log',
    '--metrics', String(METRICS_PORT),
    '--target-root', root,
    '--max-pending', '1',
    '--dispatch-timeout', '1s',
    '-f', conf, '-l', '::', '-p', String(PORT),
  ]);
  children.push(server);
  await waitForListening(PORT);

  t.equal((await talk('2001:db8::1', PORT, { line: 'x' })).echo, 'ok echo:x', 'delivered');
  for (const [host, why] of [['2001:db8::2', 'no_match'], ['2001:db8::3', 'fail'], ['2001:db8::4', 'loop'], ['2001:db8::5', 'target_missing'], ['2001:db8::6', 'outside_root']])
    t.equal((await talk(host, PORT)).greeting, null, `refused: ${why}`);
  await Promise.all(Array.from({ length: TO_HELD }, () => connectAndHold('2001:db8::7', sockets)));
  const accepted = 6 + TO_HELD;

  // Settled: the waiting connection has timed out and every line is written.
  await waitFor(() => `${accepted} access log lines; stderr so far: ${server.stderr}`, () => words(server).length === accepted, 20_000);
  const families = await scrape(METRICS_PORT);
  t.equal(sum(families, 'socketbox_connections_accepted_total'), accepted, 'every connection accepted');
  t.equal(value(families, 'socketbox_connections_pending', { target: `unix:${root}/held.sock` }), 0, 'nothing waits any more');

  const logged = new Map<string, number>();
  for (const word of words(server)) logged.set(word, (logged.get(word) ?? 0) + 1);
  const reasons = REFUSAL_REASONS.map(([reason]) => reason as string);
  t.same([...logged.keys()].filter((word) => word !== 'delivered' && !reasons.includes(word)), [], 'every word is delivered or a refusal reason');
  for (const word of ['delivered', 'no_match', 'fail', 'loop', 'target_missing', 'outside_root', 'queue_full', 'timeout'])
    t.ok(logged.has(word), `the log says ${word}`);
  t.equal(sum(families, 'socketbox_connections_delivered_total'), logged.get('delivered') ?? 0, 'delivered: as many in the metrics as in the log');
  for (const reason of reasons)
    t.equal(value(families, 'socketbox_connections_refused_total', { reason }), logged.get(reason) ?? 0, `refused{reason="${reason}"}: as many as the log says`);

  t.equal(await server.stop(), 0, 'stops cleanly');
  const detail = reasons.filter((r) => logged.has(r)).map((r) => `${r} ${logged.get(r)}`).join(', ');
  t.match(server.stderr, `refused ${accepted - (logged.get('delivered') ?? 0)} (${detail})`, 'the stop line counts the same words');
});
