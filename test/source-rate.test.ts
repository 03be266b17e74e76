/**
 * --source-rate, driven for real in a private network namespace (docs/testing.md).
 *
 * A flood from one source is limited by the token bucket while another source in the same
 * run is fully served; the accounting holds at the clients and in /metrics. Then 100,000
 * distinct spoofed sources (one per /64 of fd00::/16, made local with AnyIP) fill the table:
 * it never holds more than its size, the rest are evictions, and socketbox's resident memory
 * grows by no more than the table's bytes (allocated once, touched as sources arrive). Last,
 * the table is one for all workers (-r --workers 2) and outlives a reload.
 */
import { addLocalAddress, enterTestNetns, ip } from '../testkit/netns';
enterTestNetns([5]);

import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { scrape, sum, value } from './helpers/metrics';
import { Child, stopAll } from '../testkit/child';
import { startDrainReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';
import { memoryKiB } from '../testkit/proc-status';
import { waitForListening } from '../testkit/proc-tcp';
import { SOCKETBOX, startSocketbox } from '../testkit/socketbox';
import { sleep, waitFor } from '../testkit/wait';
import { serverAddon } from '../src/native/server-addon';
import { SOURCE_RATE } from '../src/server/stats-layout';
import { type AccessLogEntry, accessLogEntries } from '../testkit/access-log';

const PORT = 8711;
const METRICS_PORT = 9711;
const RATE = 100;
const BURST = 50;
const FLOOD = 2000;
const FLOOD_SOURCE = 'fd00:1::5';
/** Another /64: its own bucket. */
const POLITE_SOURCE = 'fd00:2::5';
/** One connection every POLITE_EVERY_MS: 20 per second, a fifth of the rate. */
const POLITE_COUNT = 40;
const POLITE_EVERY_MS = 50;
/** Spoofed sources: one per /64 under fd00:9::/32 (fd00:9:N:M::1). */
const SPOOFED = 100_000;
const SPOOFED_IN_FLIGHT = 256;
/** The server address whose rule refuses at once (fail): spoofed connections are counted, not delivered. */
const REFUSING_HOST = '2001:db8::9';

addLocalAddress(POLITE_SOURCE);
// AnyIP on the client side: every address of fd00:9::/32 is local, and bind() may take one.
ip('-6', 'route', 'add', 'local', 'fd00:9::/32', 'dev', 'lo');
fs.writeFileSync('/proc/sys/net/ipv6/ip_nonlocal_bind', '1');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-source-rate-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A connection from a spoofed source, closed as soon as it is established. */
function touch(from: string): Promise<void> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: REFUSING_HOST, port: PORT, localAddress: from }, () => sock.destroy());
    sock.on('error', () => undefined);
    sock.on('close', () => resolve());
  });
}

const spoofedSource = (i: number): string => `fd00:9:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1`;

/**
 * A socketbox with --source-rate RATE:BURST, its rules: 2001:db8::1 to the receiver,
 * REFUSING_HOST fail. With stderrFile, its stderr goes there: a file always takes a line at
 * once, where a pipe the test reads may be full during a burst (lines are then dropped).
 */
async function startLimited(children: Child[], extra: string[], stderrFile?: string): Promise<Child> {
  const conf = path.join(dir, 'rate.conf');
  fs.writeFileSync(conf, ['max-rules:1', 'rule-set:0 size:2', `ip:2001:db8::1 jump-unix:${dir}/ok.sock`, `ip:${REFUSING_HOST} fail`, 'default fail', ''].join('\n'));
  const args = ['--source-rate', `${RATE}:${BURST}`, '--metrics', String(METRICS_PORT), ...extra, '-f', conf, '-l', '::', '-p', String(PORT)];
  let server: Child;
  if (stderrFile === undefined) server = startSocketbox(args);
  else {
    const fd = fs.openSync(stderrFile, 'w');
    server = new Child(spawn(SOCKETBOX, args, { stdio: ['ignore', 'pipe', fd] }));
    fs.closeSync(fd);
  }
  children.push(server);
  await waitForListening(PORT);
  return server;
}

/** The access log's lines for connections from `source`. */
function accessLines(logFile: string, source: string): AccessLogEntry[] {
  return accessLogEntries(fs.readFileSync(logFile, 'utf8')).filter((l) => l.remote.startsWith(`[${source}]:`));
}

/** When the loop accepted it, in ms: the line's time (ms) less the latency it reports. */
const acceptedMs = (l: AccessLogEntry): number => Date.parse(l.time) - l.latency_us / 1000;

t.test('a flooding source is limited to BURST + RATE × its duration; a polite one in the same run is not', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const receiver = await startDrainReceiver(path.join(dir, 'ok.sock'), 'ok');
  children.push(receiver);
  const logFile = path.join(dir, 'flood.log');
  const server = await startLimited(children, ['--access-log', '--log-format', 'json'], logFile);

  const flood = runLoad({ hosts: ['2001:db8::1'], port: PORT, connections: FLOOD, inFlight: FLOOD, localAddress: FLOOD_SOURCE });
  let politeServed = 0;
  for (let i = 0; i < POLITE_COUNT; i++) {
    politeServed += (await runLoad({ hosts: ['2001:db8::1'], port: PORT, connections: 1, inFlight: 1, localAddress: POLITE_SOURCE })).delivered;
    await sleep(POLITE_EVERY_MS);
  }
  const { delivered, refused } = await flood;
  t.equal(delivered + refused, FLOOD, 'every flood connection ended');
  t.equal(politeServed, POLITE_COUNT, `the polite source: all ${POLITE_COUNT} served during the flood`);

  const families = await scrape(METRICS_PORT);
  const limited = value(families, 'socketbox_connections_refused_total', { reason: 'rate_limited' });
  const servedInAll = sum(families, 'socketbox_connections_delivered_total');
  t.equal(limited, refused, 'refused{reason="rate_limited"}: what the clients saw refused');
  t.equal(servedInAll, delivered + POLITE_COUNT, 'delivered: what the clients saw delivered');
  t.equal(servedInAll + limited, FLOOD + POLITE_COUNT, 'delivered + rate_limited = every connection sent');
  t.equal(sum(families, 'socketbox_connections_accepted_total'), servedInAll + sum(families, 'socketbox_connections_refused_total'), 'accepted = delivered + refused');
  t.equal(value(families, 'socketbox_source_rate_entries'), 2, 'two sources in the table');
  t.equal((await stopDrainReceiver(receiver)).count, delivered + POLITE_COUNT, 'the receiver got exactly the delivered ones');
  children.splice(children.indexOf(receiver), 1);

  // The token bucket's arithmetic, against the loop's own clock (accept times from the access
  // log). The bucket starts with BURST at the flood's first connection and earns RATE per
  // second; it cannot reach BURST again while the flood lasts (that needs BURST / RATE = 0.5 s
  // without a connection). So:
  //  - at most BURST + RATE × span got through (span: first to last connection), since each
  //    one took a token earned by then;
  //  - at least BURST + RATE × (last refusal − first) − 1: the last refused connection found
  //    less than one token left of all that were earned until then.
  // The log's times are whole milliseconds, read after the accept: each is within 1 ms, so
  // both bounds get RATE × 2 ms of room.
  await waitFor(() => `every flood connection logged (${accessLines(logFile, FLOOD_SOURCE).length} so far)`, () => accessLines(logFile, FLOOD_SOURCE).length === FLOOD, 10_000);
  const lines = accessLines(logFile, FLOOD_SOURCE);
  const first = Math.min(...lines.map(acceptedMs));
  const span = (Math.max(...lines.map(acceptedMs)) - first) / 1000;
  const lastRefusal = (Math.max(...lines.filter((l) => l.outcome === 'rate_limited').map(acceptedMs)) - first) / 1000;
  const room = RATE * 0.002;
  const most = BURST + RATE * span + room;
  const least = BURST + RATE * lastRefusal - 1 - room;
  t.comment(
    `flood: ${FLOOD} connections over ${span.toFixed(3)} s at the server (last refusal at ${lastRefusal.toFixed(3)} s): ` +
      `${delivered} delivered, bucket allows ${least.toFixed(1)}..${most.toFixed(1)}; ${refused} refused`,
  );
  t.ok(delivered <= most, `no more than BURST + RATE × span: ${delivered} <= ${most.toFixed(1)}`);
  t.ok(delivered >= least, `no less than BURST + RATE × (last refusal) - 1: ${delivered} >= ${least.toFixed(1)}`);
  t.ok(refused >= FLOOD - most, 'the rest was refused');
  t.equal(lines.filter((l) => l.outcome === 'rate_limited').length, refused, 'the access log says rate_limited for each refused one');
  t.equal(value(await scrape(METRICS_PORT), 'socketbox_log_lines_dropped_total'), 0, 'no log line was dropped');
  t.equal(await server.stop(), 0, 'stops cleanly');
});

t.test('100,000 distinct sources: the table stays at its size, memory within the table', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const server = await startLimited(children, []);
  const rssBefore = memoryKiB(server.pid, 'VmRSS');
  const began = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < SPOOFED) await touch(spoofedSource(next++));
  };
  await Promise.all(Array.from({ length: SPOOFED_IN_FLIGHT }, worker));
  // Every one admitted (a source seen for the first time has a full bucket), then refused by its rule.
  await waitFor(
    () => 'every spoofed connection counted',
    async () => value(await scrape(METRICS_PORT), 'socketbox_connections_refused_total', { reason: 'fail' }) === SPOOFED,
    30_000,
  );
  const rssAfter = memoryKiB(server.pid, 'VmRSS');
  const after = await scrape(METRICS_PORT);
  const tableKiB = serverAddon().sourceRateTableBytes / 1024;
  const growth = rssAfter - rssBefore;
  t.comment(`${SPOOFED} sources in ${((Date.now() - began) / 1000).toFixed(1)} s: VmRSS ${rssBefore} -> ${rssAfter} KiB (${growth >= 0 ? '+' : ''}${growth}); table ${tableKiB.toFixed(0)} KiB`);
  t.equal(value(after, 'socketbox_source_rate_entries'), SOURCE_RATE.entries, `the table is full at its size, ${SOURCE_RATE.entries}, and no more`);
  t.equal(value(after, 'socketbox_source_rate_evictions_total'), SPOOFED - SOURCE_RATE.entries, 'every source beyond it evicted the least recently seen one');
  t.equal(value(after, 'socketbox_connections_refused_total', { reason: 'rate_limited' }), 0, 'none limited: each came once');
  // The table's pages, plus 8 MiB for the JavaScript heap serving the scrapes.
  t.ok(growth <= tableKiB + 8192, `VmRSS grew by ${growth} KiB <= table ${tableKiB.toFixed(0)} KiB + 8192 KiB`);
  t.equal(await server.stop(), 0, 'stops cleanly');
});

t.test('one table for every worker and across reloads: -r --workers 2 spreads a source over both loops, its burst is still one', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startDrainReceiver(path.join(dir, 'ok.sock'), 'ok'));
  const conf = path.join(dir, 'workers.conf');
  fs.writeFileSync(conf, ['max-rules:1', 'rule-set:0 size:1', `ip:2001:db8::1 jump-unix:${dir}/ok.sock`, ''].join('\n'));
  // A burst of 10, then one token per 1000 s: nothing refills during the test.
  const server = startSocketbox(['--source-rate', '0.001:10', '-r', '--workers', '2', '--metrics', String(METRICS_PORT), '-f', conf, '-l', '::', '-p', String(PORT)]);
  children.push(server);
  await waitForListening(PORT);
  const { delivered, refused } = await runLoad({ hosts: ['2001:db8::1'], port: PORT, connections: 40, inFlight: 8, localAddress: FLOOD_SOURCE });
  const m = await scrape(METRICS_PORT);
  const perWorker = ['0', '1'].map((worker) => value(m, 'socketbox_connections_accepted_total', { worker }));
  t.comment(`accepted per worker: ${perWorker.join(', ')}; delivered ${delivered}, refused ${refused}`);
  t.ok(perWorker.every((n) => n > 0), 'SO_REUSEPORT spread the source over both loops');
  t.equal(delivered, 10, 'the burst of 10 in all, not 10 per worker');
  t.equal(value(m, 'socketbox_connections_refused_total', { reason: 'rate_limited' }), 30, 'the other 30 rate_limited');
  t.equal(value(m, 'socketbox_source_rate_entries'), 1, 'one entry for the source, whichever loop saw it first');

  // A reload publishes new rules; the table and its buckets stay as they are.
  server.proc.kill('SIGHUP');
  await waitFor('the reload', async () => value(await scrape(METRICS_PORT), 'socketbox_config_reloads_total', { result: 'success' }) === 1, 10_000);
  const afterReload = await runLoad({ hosts: ['2001:db8::1'], port: PORT, connections: 2, inFlight: 1, localAddress: FLOOD_SOURCE });
  t.equal(afterReload.refused, 2, 'after SIGHUP the source is still out of tokens');
  t.equal(value(await scrape(METRICS_PORT), 'socketbox_source_rate_entries'), 1, 'and the table still holds it');
  t.equal(await server.stop(), 0, 'stops cleanly');
});
