/**
 * The kernel fast path (docs/fast-path.md) end to end, in a private network namespace, with
 * the receivers in network namespaces of their own: a listener-mode receiver gets a listening
 * socket at registration and accepts the slot's connections itself, while the BPF sk_lookup
 * program routes by the same table as the accept loops. Proves: connections reach the
 * receiver without an accept loop (the loops' counters stay still); the books
 * (accepted = delivered + refused) hold with the program's counters; when the receiver goes,
 * what waited in its queue is reset and counted no_receiver and the slot falls back to the
 * loops; when socketbox stops, a receiver still takes what its queue holds; reloads under load that move an address between the fast path and the loops lose
 * nothing; --no-fast-path and a start without CAP_BPF degrade to the loops, saying so once,
 * and listener-mode receivers are then served over their registration; the fast path keeps
 * working after the change of uid (-u), and the capabilities of the systemd drop-in
 * (systemd/socketbox-fastpath.conf) are all an unprivileged socketbox needs for it.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { binPath, projectRoot } from '../testkit/project-root';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX } from '../testkit/socketbox';
import { startDrainReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';
import { talk } from './helpers/client';
import { scrape, waitForRegistered, waitForSample } from './helpers/registration';

enterTestNetns([5]);

const PORT = 8601;
const METRICS = 9601;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-fastpath-'));
const api = path.join(dir, 'api.sock');
const RECEIVER = path.join(__dirname, 'helpers', 'listener_receiver.py');
const INETD_P = binPath('socketbox-inetd-p');
const ourNetns = fs.readlinkSync('/proc/self/ns/net');

/** ::1 -> slot 0, ::2 -> slot 1, ::3 -> slot 2 (unless `first` says otherwise for ::1). */
function config(first = 'o:0') {
  return {
    'socketbox-version': 1,
    incoming: [{ address: '::', port: PORT }],
    paths: [{ socket: api, mode: '0666' }],
    outgoing: [
      { uid: 0, path_nr: 0 },
      { uid: 0, path_nr: 0 },
      { uid: 0, path_nr: 0 },
    ],
    rules: {
      _start: { type: 'rule', rules: [{ l_ip: '2001:db8::/64', jump: 'r:sites' }, { l_ip: '127.0.0.0/8', jump: 'r:sites' }] },
      sites: {
        type: 'map',
        mask: { l_ip: '::' },
        rules: [
          { l_ip: '2001:db8::1', jump: first },
          { l_ip: '127.0.0.5', jump: 'o:0' },
          { l_ip: '2001:db8::2', jump: 'o:1' },
          { l_ip: '2001:db8::3', jump: 'o:2' },
        ],
      },
    },
  };
}

function startServer(t: Test, children: Child[], extra: string[] = [], wrapper: string[] = []): { server: Child; file: string } {
  const file = path.join(dir, `${t.name.replace(/\W+/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(config()));
  const cmd = [...wrapper, SOCKETBOX, '-f', file, '--metrics', String(METRICS), ...extra];
  const server = new Child(spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }));
  children.push(server);
  return { server, file };
}

/** A process in a network namespace of its own (unshare -n): it reaches socketbox only through the registration socket. */
function inOwnNetns(args: string[]): Child {
  return new Child(spawn('unshare', ['-n', '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

async function startListenerReceiver(children: Child[], slot: number, name: string, hold = false): Promise<Child> {
  const c = inOwnNetns(['python3', RECEIVER, api, String(slot), name, ...(hold ? ['hold'] : [])]);
  children.push(c);
  await c.waitForEvent((e) => e.ready === true, 10_000, `listener receiver ${name}`);
  return c;
}

function sample(m: Map<string, number>, key: string): number {
  return m.get(key) ?? 0;
}

/** accepted = delivered + Σ refused + pending, over every sample of the scrape. */
function checkBooks(t: Test, m: Map<string, number>): void {
  const sum = (prefix: string) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
  const accepted = sum('socketbox_connections_accepted_total');
  t.ok(accepted > 0, `${accepted} connections accepted in all`);
  t.equal(accepted, sum('socketbox_connections_delivered_total') + sum('socketbox_connections_refused_total') + sum('socketbox_connections_pending{'), 'accepted = delivered + refused + pending, fast path included');
}

async function waitForApi(server: Child): Promise<void> {
  await waitForSample(METRICS, 'socketbox_registration_connections', (v) => v !== undefined, 15_000).catch((e: Error) => {
    throw new Error(`${e.message}; socketbox stderr: ${server.stderr}`);
  });
}

t.test('listener mode: connections go straight to a receiver in its own network namespace', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const { server } = startServer(t, children);
  await waitForApi(server);
  const program = ['sh', '-c', 'echo "$0 netns=$(readlink /proc/self/ns/net)"; head -n 1', 'fast'];
  children.push(inOwnNetns([INETD_P, '--listener', api, '0', ...program]));
  children.push(new Child(spawn(INETD_P, [api, '1', 'sh', '-c', 'echo "$0"; head -n 1', 'classic'], { stdio: ['ignore', 'pipe', 'pipe'] })));
  await waitForRegistered(METRICS, 2);
  t.match(server.stderr, /fast path on: BPF sk_lookup attached for 1 of 1 listener/, 'socketbox says the fast path is on');

  for (let i = 0; i < 20; i++) {
    const r = await talk('2001:db8::1', PORT, { localAddress: 'fd00:1::5', line: `fast-${i}` });
    const m = /^fast netns=(\S+)$/.exec(r.greeting ?? '');
    if (!m || m[1] === ourNetns || r.echo !== `fast-${i}`) t.fail(`connection ${i} to ::1: ${JSON.stringify(r)}`);
  }
  t.pass('20 connections to [2001:db8::1] served by the listener-mode receiver, in another network namespace, data both ways');
  for (let i = 0; i < 5; i++) {
    const r = await talk('127.0.0.5', PORT, { line: `v4-${i}` });
    if (!/^fast netns=/.test(r.greeting ?? '') || r.echo !== `v4-${i}`) t.fail(`IPv4 connection ${i}: ${JSON.stringify(r)}`);
  }
  t.pass('5 IPv4 connections to 127.0.0.5 too');
  for (let i = 0; i < 5; i++) t.same(await talk('2001:db8::2', PORT, { line: 'c' }), { greeting: 'classic', echo: 'c', reset: false }, `::2 #${i}: the classic receiver, over the accept loop`);
  const refused = await talk('2001:db8::3', PORT);
  t.same([refused.greeting, refused.reset], [null, true], '::3, a slot nobody holds: reset');

  const m = await scrape(METRICS);
  t.equal(sample(m, 'socketbox_fastpath_enabled'), 1, 'fastpath_enabled 1');
  t.equal(sample(m, 'socketbox_fastpath_decisions_total{decision="assigned"}'), 25, 'the program assigned exactly the 25 connections to ::1 and 127.0.0.5');
  t.equal(sample(m, 'socketbox_connections_accepted_total{worker="fastpath"}'), 25, 'counted as accepted by the fast path');
  t.equal(sample(m, 'socketbox_connections_accepted_total{worker="0"}'), 6, 'the accept loop accepted only the 6 others');
  t.equal(sample(m, 'socketbox_fastpath_decisions_total{decision="not_listener_mode"}'), 6, 'which the program passed: their slots have no listener');
  t.equal(sample(m, 'socketbox_connections_delivered_total{target="o:0"}'), 25, 'delivered to o:0: 25');
  t.equal(sample(m, 'socketbox_connections_delivered_total{target="o:1"}'), 5, 'delivered to o:1: 5');
  t.equal(sample(m, 'socketbox_connections_refused_total{reason="no_receiver"}'), 1, 'refused no_receiver: 1');
  t.equal(sample(m, 'socketbox_fastpath_registrations_total{mode="listener"}'), 1, 'one listener-mode registration, granted with a listener');
  checkBooks(t, m);
});

t.test('when the receiver goes, what waited in its queue is reset and counted, and the slot falls back', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const { server } = startServer(t, children);
  await waitForApi(server);
  const held = await startListenerReceiver(children, 0, 'held', true);
  t.equal(held.events[0].listener, true, 'the grant carried a listener');
  t.not(held.events[0].netns, ourNetns, 'the receiver runs in another network namespace');
  await waitForRegistered(METRICS, 1);

  // Five clients whose handshakes the kernel completes into the held receiver's queue.
  const WAITING = 5;
  const clients = Array.from({ length: WAITING }, () => {
    const s = net.connect({ host: '2001:db8::1', port: PORT });
    const ended = new Promise<string>((resolve) => {
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.on('close', () => resolve('closed'));
    });
    s.on('connect', () => s.write('hello\n'));
    return ended;
  });
  await waitForSample(METRICS, 'socketbox_fastpath_decisions_total{decision="assigned"}', (v) => v === WAITING);
  held.proc.kill('SIGKILL');
  t.same(await Promise.all(clients), Array(WAITING).fill('ECONNRESET'), `the ${WAITING} queued connections are reset`);
  await waitForRegistered(METRICS, 0);

  const after = await talk('2001:db8::1', PORT);
  t.same([after.greeting, after.reset], [null, true], 'a new connection to the slot takes the accept loop and is reset (no receiver)');
  const m = await scrape(METRICS);
  t.equal(sample(m, 'socketbox_connections_accepted_total{worker="fastpath"}'), WAITING, `${WAITING} accepted by the fast path`);
  t.equal(sample(m, 'socketbox_connections_delivered_total{target="o:0"}'), 0, 'none of them counts as delivered');
  t.equal(sample(m, 'socketbox_connections_refused_total{reason="no_receiver"}'), WAITING + 1, `no_receiver: the ${WAITING} taken back plus the new one`);
  t.equal(sample(m, 'socketbox_fastpath_decisions_total{decision="not_listener_mode"}'), 1, 'the program passed the new one: the slot has no listener any more');
  checkBooks(t, m);
});

t.test('when socketbox stops, a listener-mode receiver still serves what its queue holds', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const { server } = startServer(t, children);
  await waitForApi(server);
  const held = await startListenerReceiver(children, 0, 'held', true);
  await waitForRegistered(METRICS, 1);
  const WAITING = 5;
  const answers = Array.from({ length: WAITING }, () => runLoad({ hosts: ['2001:db8::1'], port: PORT, connections: 1, inFlight: 1, timeoutMs: 15_000 }).then((r) => r.byReceiver.get('held') ?? 0));
  await waitForSample(METRICS, 'socketbox_fastpath_decisions_total{decision="assigned"}', (v) => v === WAITING);
  t.equal(await server.stop(), 0, 'socketbox stops (exit 0) while the connections wait in the receiver’s queue');
  held.proc.kill('SIGUSR1');
  t.same(await Promise.all(answers), Array(WAITING).fill(1), `all ${WAITING} answered by the receiver after socketbox had gone`);
  t.equal(await held.wait(), 0, 'the receiver saw the end of its registration and exited 0');
  t.match(held.events.at(-1), { fast: WAITING, classic: 0 }, 'through its listener');
});

t.test('reloads under load move an address between the fast path and the loops; nothing is lost', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const { server, file } = startServer(t, children);
  await waitForApi(server);
  const fast = await startListenerReceiver(children, 0, 'fast');
  const classic = await startDrainReceiver(`reg:${api}:1`, 'classic');
  children.push(classic);
  await waitForRegistered(METRICS, 2);

  const CONNECTIONS = 3000;
  let reloads = 0;
  const result = await runLoad({
    hosts: ['2001:db8::1'],
    port: PORT,
    connections: CONNECTIONS,
    inFlight: 32,
    timeoutMs: 20_000,
    onProgress: (done) => {
      if (done % 150 !== 0) return;
      // ::1 alternates between slot 0 (listener mode, fast path) and slot 1 (over the accept loop).
      fs.writeFileSync(file, JSON.stringify(config(++reloads % 2 === 1 ? 'o:1' : 'o:0')));
      server.proc.kill('SIGHUP');
    },
  });
  t.equal(result.refused, 0, 'no connection refused or lost');
  t.equal(result.delivered, CONNECTIONS, `all ${CONNECTIONS} answered`);
  t.ok((result.byReceiver.get('fast') ?? 0) > 0 && (result.byReceiver.get('classic') ?? 0) > 0, `served by both: ${JSON.stringify([...result.byReceiver])}`);
  await waitForSample(METRICS, 'socketbox_config_reloads_total{result="success"}', (v) => v === reloads);
  const m = await scrape(METRICS);
  t.equal(sample(m, 'socketbox_connections_delivered_total{target="o:0"}'), result.byReceiver.get('fast'), 'delivered o:0 (the program) = what the fast receiver answered');
  t.equal(sample(m, 'socketbox_connections_delivered_total{target="o:1"}'), result.byReceiver.get('classic'), 'delivered o:1 (the loop) = what the classic receiver answered');
  checkBooks(t, m);
  await fast.stop();
  const got = fast.events.at(-1) as { fast: number; classic: number };
  t.equal(got.fast + got.classic, result.byReceiver.get('fast'), 'the fast receiver counted the same');
  // Between a reload's two publishes (loops first, then the program) a connection the program
  // passes can be routed to slot 0 by the loop's newer table: it then arrives over the registration.
  t.ok(got.fast >= got.classic * 10, `most through its listener (${got.fast}), the rest over its registration (${got.classic})`);
  t.equal(sample(m, 'socketbox_fastpath_decisions_total{decision="assigned"}'), got.fast, 'assigned by the program = accepted from the listener');
  t.equal((await stopDrainReceiver(classic)).count, result.byReceiver.get('classic'), 'the classic receiver counted the same');
});

async function expectDegraded(t: Test, server: Child, children: Child[], why: RegExp): Promise<void> {
  await waitForApi(server);
  const r = await startListenerReceiver(children, 0, 'degraded');
  t.equal(r.events[0].listener, false, 'the grant carries no listener');
  await waitForRegistered(METRICS, 1);
  const load = await runLoad({ hosts: ['2001:db8::1'], port: PORT, connections: 5, inFlight: 1, timeoutMs: 10_000 });
  t.same([load.delivered, load.byReceiver.get('degraded')], [5, 5], '5 connections answered by the listener-mode receiver');
  // The loop counts a hand-off once its send has returned; the receiver can answer (and the
  // client read) before that, if it preempts the loop thread right after the send.
  await waitForSample(METRICS, 'socketbox_connections_delivered_total{target="o:0"}', (v) => v === 5);
  const m = await scrape(METRICS);
  t.equal(sample(m, 'socketbox_fastpath_enabled'), 0, 'fastpath_enabled 0');
  t.equal(sample(m, 'socketbox_connections_accepted_total{worker="0"}'), 5, 'the loop accepted all 5');
  t.equal(sample(m, 'socketbox_connections_delivered_total{target="o:0"}'), 5, 'and delivered them');
  t.equal(server.stderr.match(/fast path/g)?.length, 1, 'one log line about the fast path');
  t.match(server.stderr, why, 'which says why');
  await r.stop();
  t.match(r.events.at(-1), { fast: 0, classic: 5 }, 'the receiver got them all over its registration');
}

t.test('--no-fast-path: listener-mode receivers are served over their registration', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const { server } = startServer(t, children, ['--no-fast-path']);
  await expectDegraded(t, server, children, /fast path off \(--no-fast-path\)/);
});

t.test('--source-rate turns the fast path off: the loops serve listener-mode receivers and limit every connection', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  // A burst of 5 and one more token per 1000 s: the sixth connection onwards is over the rate.
  const { server } = startServer(t, children, ['--source-rate', '0.001:5']);
  await expectDegraded(t, server, children, /fast path off \(--source-rate\)/);
  const over = await runLoad({ hosts: ['2001:db8::1'], port: PORT, connections: 3, inFlight: 1, timeoutMs: 10_000 });
  t.equal(over.refused, 3, 'the next 3 from the same source are refused');
  const m = await scrape(METRICS);
  t.equal(sample(m, 'socketbox_connections_refused_total{reason="rate_limited"}'), 3, 'counted as rate_limited');
  t.equal(sample(m, 'socketbox_connections_accepted_total{worker="0"}'), 8, 'by the loop, which accepted all 8');
});

t.test('without CAP_BPF and CAP_SYS_ADMIN the program cannot load: socketbox says so once and serves through the loops', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const { server } = startServer(t, children, [], ['setpriv', '--bounding-set', '-bpf,-sys_admin,-perfmon', '--']);
  await expectDegraded(t, server, children, /fast path unavailable \(.*Operation not permitted.*CAP_BPF/);
});

/** A listener-mode receiver served through the fast path by a socketbox that runs as nobody. */
async function expectFastPathAsNobody(t: Test, server: Child, children: Child[]): Promise<void> {
  await waitForApi(server);
  t.match(fs.readFileSync(`/proc/${server.pid}/status`, 'utf8'), /^Uid:\s+65534\s/m, 'socketbox runs as uid 65534');
  const r = await startListenerReceiver(children, 0, 'unprivileged');
  t.equal(r.events[0].listener, true, 'a registration after the privilege drop gets its listener: the maps work without privilege');
  await waitForRegistered(METRICS, 1);
  const load = await runLoad({ hosts: ['2001:db8::1'], port: PORT, connections: 20, inFlight: 4, timeoutMs: 10_000 });
  t.equal(load.byReceiver.get('unprivileged'), 20, '20 connections answered');
  const m = await scrape(METRICS);
  t.equal(sample(m, 'socketbox_fastpath_decisions_total{decision="assigned"}'), 20, 'all 20 through the fast path');
  r.proc.kill('SIGKILL');
  await waitForRegistered(METRICS, 0);
  t.equal(sample(await scrape(METRICS), 'socketbox_connections_accepted_total{worker="0"}'), 0, 'the slot left the map as uid 65534 too (no accept loop was needed)');
}

t.test('started as root with -u, the fast path keeps working after the privilege drop', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  fs.chmodSync(dir, 0o755);
  const { server } = startServer(t, children, ['-u', '65534', '-g', '65534']);
  await expectFastPathAsNobody(t, server, children);
});

t.test('the systemd drop-in’s capabilities are all an unprivileged socketbox needs', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const dropIn = fs.readFileSync(path.join(projectRoot, 'systemd', 'socketbox-fastpath.conf'), 'utf8');
  const caps = /^AmbientCapabilities=(.*)$/m.exec(dropIn)![1].trim().split(/\s+/);
  t.same(caps, ['CAP_BPF', 'CAP_NET_ADMIN'], 'the drop-in grants CAP_BPF and CAP_NET_ADMIN');
  t.match(dropIn, new RegExp(`^CapabilityBoundingSet=${caps.join(' ')}$`, 'm'), 'and bounds the service to them');
  // The registration socket is created by socketbox itself, now as nobody.
  fs.chmodSync(dir, 0o777);
  t.teardown(() => fs.chmodSync(dir, 0o755));
  const names = caps.map((c) => c.replace(/^CAP_/, '').toLowerCase());
  const asUnit = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', `--inh-caps=-all,${names.map((n) => `+${n}`).join(',')}`,
    `--ambient-caps=-all,${names.map((n) => `+${n}`).join(',')}`, `--bounding-set=-all,${names.map((n) => `+${n}`).join(',')}`, '--'];
  const { server } = startServer(t, children, [], asUnit);
  await expectFastPathAsNobody(t, server, children);
  t.match(server.stderr, /fast path on/, 'socketbox says the fast path is on');
});
