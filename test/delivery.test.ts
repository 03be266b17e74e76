/**
 * Delivery guarantees, end to end in a private network namespace:
 * a burst into a slow receiver with the default queue length loses nothing
 * and keeps order; a receiver killed mid-burst costs only counted refusals and
 * no descriptor, and is used again when it comes back; running out of
 * descriptors pauses intake without spinning and resumes by itself.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { enterTestNetns } from './helpers/netns';
import { Child, SOCKETBOX, startDrainReceiver, startSocketbox, stopAll, stopDrainReceiver } from './helpers/processes';
import { runLoad } from '../load-tests/load-generator';
import { fdCount, waitFor, waitForListening } from './helpers/wait-for';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-delivery-'));
const HOSTS = Array.from({ length: 16 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
let nextPort = 8700;

const startDrain = (name: string, rate = 0, hold = false): Promise<Child> =>
  startDrainReceiver(path.join(dir, `${name}.sock`), name, { rate, hold });
const drainReport = stopDrainReceiver;

function cpuTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
}

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
  await waitFor(() => fdCount(server.pid) <= baseline, 5000, 'the descriptor count back to its baseline');
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
  await waitFor(() => fdCount(server.pid) >= 60, 10_000, 'the descriptor limit to be reached');
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
