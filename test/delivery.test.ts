/**
 * Delivery guarantees, end to end in a private network namespace:
 * a burst into a slow receiver with the default queue length loses nothing
 * and keeps order; a receiver killed mid-burst costs only counted refusals and
 * no descriptor, and is used again when it comes back; running out of
 * descriptors pauses intake without spinning and resumes by itself; a
 * receiver that never reads, flooded, costs a busy healthy one nothing.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { fdCount } from '../testkit/proc-fds';
import { cpuTicks } from '../testkit/proc-stat';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX, startSocketbox } from '../testkit/socketbox';
import { startDrainReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-delivery-'));
const HOSTS = Array.from({ length: 16 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
let nextPort = 8700;

const startDrain = (name: string, rate = 0, hold = false): Promise<Child> =>
  startDrainReceiver(path.join(dir, `${name}.sock`), name, { rate, hold });
const drainReport = stopDrainReceiver;

t.test('20,000 connections at 64 in flight into a receiver draining 2,000/s: all delivered, in order', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  t.equal(fs.readFileSync('/proc/sys/net/unix/max_dgram_qlen', 'utf8').trim(), '10', 'the default receive queue of 10');
  const slow = await startDrain('slow', 2000);
  children.push(slow);
  const port = nextPort++;
  const server = startSocketbox(['-S', path.join(dir, 'slow.sock'), '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  const load = await runLoad({ hosts: HOSTS, port, connections: 20_000, inFlight: 64, timeoutMs: 30_000 });
  t.equal(load.delivered, 20_000, '100 % delivered');
  t.equal(await server.stop(), 0);
  t.match(server.stderr, 'accepted 20000, delivered 20000, refused 0');
  const report = await drainReport(slow);
  t.equal(report.count, 20_000, 'the receiver counted 20,000');
  t.equal(report.ordered, true, 'in the order the connections were made');
});

t.test('a receiver killed mid-burst: refusals counted, no descriptor leaked, delivery resumes when it is back', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  let receiver = await startDrain('flaky');
  children.push(receiver);
  const port = nextPort++;
  const server = startSocketbox(['--dispatch-timeout', '1s', '-S', path.join(dir, 'flaky.sock'), '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  const baseline = fdCount(server.pid);
  let killed = false;
  const load = await runLoad({
    hosts: HOSTS,
    port,
    connections: 6000,
    inFlight: 64,
    timeoutMs: 10_000,
    onProgress: (done) => {
      if (done === 2000 && !killed) {
        killed = true;
        receiver.proc.kill('SIGKILL');
      }
    },
  });
  t.ok(load.delivered >= 2000 && load.delivered < 6000, `delivered before the kill: ${load.delivered}`);
  t.equal(load.delivered + load.refused, 6000, 'every connection ended one way or the other');
  await waitFor('the descriptor count back to its baseline', () => fdCount(server.pid) <= baseline, 5000);
  t.ok(fdCount(server.pid) <= baseline, `descriptors back to the baseline of ${baseline}`);

  receiver = await startDrain('flaky');
  children.push(receiver);
  const again = await runLoad({ hosts: HOSTS, port, connections: 500, inFlight: 16 });
  t.equal(again.delivered, 500, 'the restarted receiver gets new connections, without restarting socketbox');
  t.equal(await server.stop(), 0);
  const m = /accepted (\d+), delivered (\d+), refused (\d+) \(([^)]*)\)/.exec(server.stderr);
  t.ok(m, 'the accounting names reasons');
  const [accepted, delivered, refused] = (m ?? []).slice(1, 4).map(Number);
  t.equal(accepted, 6500, 'accepted what the client made');
  // A receiver killed with descriptors in its queue (max_dgram_qlen 10, which
  // the kernel lets overshoot by one, plus what it had read and was handling)
  // takes them down with it: handed over, then lost with the receiver.
  const lostInKilledQueue = delivered - (load.delivered + 500);
  t.ok(lostInKilledQueue >= 0 && lostInKilledQueue <= 16, `delivered = answered + what died in the killed receiver's queue (${lostInKilledQueue})`);
  t.equal(accepted, delivered + refused, 'accepted = delivered + refused');
  t.match(m?.[4] ?? '', /^(target_missing \d+(, timeout \d+)?|timeout \d+)$/, 'refused as target_missing or timeout only');
});

t.test('RLIMIT_NOFILE 64: intake pauses without spinning and resumes by itself', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const held = await startDrain('held', 0, true);
  children.push(held);
  const port = nextPort++;
  const server = new Child(
    spawn('prlimit', ['--nofile=64:64', SOCKETBOX, '--dispatch-timeout', '60s', '-S', path.join(dir, 'held.sock'), '-l', '::', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  children.push(server);
  await waitForListening(port);
  const loadDone = runLoad({ hosts: HOSTS, port, connections: 300, inFlight: 100, timeoutMs: 60_000 });
  // The receiver reads nothing: its queue fills, waiting connections hold descriptors, accept hits EMFILE.
  await waitFor('the descriptor limit to be reached', () => fdCount(server.pid) >= 60);
  await new Promise((r) => setTimeout(r, 500));
  const before = cpuTicks(server.pid);
  await new Promise((r) => setTimeout(r, 2000));
  const used = cpuTicks(server.pid) - before;
  t.ok(used <= 20, `while blocked the server used ${used} ticks of CPU in 2 s (at most 20: no busy loop)`);
  t.equal(server.exitCode, null, 'and is still running');
  held.proc.kill('SIGUSR1'); // start reading
  const load = await loadDone;
  t.equal(load.delivered, 300, 'every connection delivered once descriptors were free again');
  t.equal(await server.stop(), 0);
  t.match(server.stderr, 'accepted 300, delivered 300, refused 0');
});

t.test('a receiver that never reads, flooded with 10,000 connections, costs a busy one next to it nothing', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const qlen = Number(fs.readFileSync('/proc/sys/net/unix/max_dgram_qlen', 'utf8'));
  const stuck = await startDrain('stuck', 0, true); // binds, never reads: its queue stays full
  const busy = await startDrain('busy', 1500); // reads, but slower than its clients send
  children.push(stuck, busy);
  const conf = path.join(dir, 'two-targets.conf');
  fs.writeFileSync(conf, ['max-rules:1', 'rule-set:0 size:2', `ip:2001:db8::a jump-unix:${path.join(dir, 'stuck.sock')}`, `ip:2001:db8::b jump-unix:${path.join(dir, 'busy.sock')}`, 'default fail', ''].join('\n'));
  const port = nextPort++;
  // A budget of 512 waiting connections, of which one target may hold the default quarter (128).
  const server = startSocketbox(['--max-pending', '512', '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port, 30_000); // a busy machine may take long to start it

  // At the same time: the flood keeps far more connections open than the whole budget
  // (each one that finds the stuck receiver's queue full waits 2 s or is refused, and its
  // client connects again), while the busy target's clients stay within its share (32 in
  // flight) yet outrun its receiver, so its kernel queue is full most of the time and its
  // connections wait too.
  const [stuckLoad, busyLoad] = await Promise.all([
    runLoad({ hosts: ['2001:db8::a'], port, connections: 10_000, inFlight: 1000, timeoutMs: 4000 }),
    runLoad({ hosts: ['2001:db8::b'], port, connections: 2000, inFlight: 32, timeoutMs: 20_000 }),
  ]);
  t.equal(busyLoad.delivered, 2000, 'all 2,000 connections for the busy receiver answered');
  t.equal(busyLoad.byReceiver.get('busy'), 2000, '… by the busy receiver itself');
  t.equal(stuckLoad.delivered, 0, 'none of the 10,000 for the stuck receiver answered');

  t.equal(await server.stop(), 0, 'socketbox stops cleanly');
  const m = /accepted (\d+), delivered (\d+), refused (\d+) \(([^)]*)\)/.exec(server.stderr);
  t.ok(m, `the accounting names reasons: ${server.stderr.split('\n').find((l) => l.includes('stopped')) ?? server.stderr}`);
  const [accepted, delivered, refused] = (m ?? []).slice(1, 4).map(Number);
  const reasons = new Map((m?.[4] ?? '').split(', ').map((part) => [part.split(' ')[0], Number(part.split(' ')[1])] as [string, number]));
  t.equal(accepted, 12_000, 'accepted every connection the clients made');
  t.equal(accepted, delivered + refused, 'accepted = delivered + refused');
  const intoStuckQueue = delivered - 2000;
  t.ok(intoStuckQueue >= 1 && intoStuckQueue <= qlen + 1, `delivered = the busy receiver's 2,000 + what the stuck receiver's kernel queue took (${intoStuckQueue})`);
  t.same([...reasons.keys()].sort(), ['queue_full', 'timeout'], 'refused as queue_full (beyond the stuck target\'s share) and timeout (waited 2 s) only');
  t.ok((reasons.get('queue_full') ?? 0) > 0, `the flood went beyond the stuck target's share: queue_full ${reasons.get('queue_full')}`);
  t.equal((await drainReport(busy)).count, 2000, 'the busy receiver counted 2,000');
});
