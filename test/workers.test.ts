/**
 * Worker threads, end to end in a private network namespace: every
 * worker takes connections with and without -r, routing is the same as with
 * one worker, reloads under load lose nothing and never mix tables within a
 * connection, a killed worker is restarted without losing a connection, and
 * a graceful stop delivers everything that was accepted.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX, startSocketbox } from '../testkit/socketbox';
import { startDrainReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';
import { scrape, waitForSample } from './helpers/registration';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-workers-'));
const HOSTS = Array.from({ length: 16 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
let nextPort = 8600;

const startDrain = (name: string, rate = 0): Promise<Child> => startDrainReceiver(path.join(dir, `${name}.sock`), name, { rate });

const drainReport = stopDrainReceiver;

function perWorker(stderr: string): number[] {
  const m = /accepted per worker: ([\d, ]+)/.exec(stderr);
  return m ? m[1].split(', ').map(Number) : [];
}

const splitConfig = (a: string, b: string): string =>
  `max-rules:1\nrule-set:0\nsize:2\nip:2001:db8::/124 jump-unix:${path.join(dir, `${a}.sock`)}\nip:2001:db8::/64 jump-unix:${path.join(dir, `${b}.sock`)}\n`;

for (const reuseport of [false, true]) {
  t.test(`--workers 4 ${reuseport ? 'with -r (a socket each)' : 'sharing one socket'}: all take connections, routing as with one`, async (t) => {
    const children: Child[] = [];
    t.teardown(() => stopAll(children));
    const low = await startDrain('low');
    const high = await startDrain('high');
    children.push(low, high);
    const conf = path.join(dir, `split-${reuseport}.conf`);
    fs.writeFileSync(conf, splitConfig('low', 'high'));
    const port = nextPort++;
    const server = startSocketbox(['--workers', '4', ...(reuseport ? ['-r'] : []), '-f', conf, '-l', '::', '-p', String(port)]);
    children.push(server);
    await waitForListening(port);
    const load = await runLoad({ hosts: HOSTS.concat(['2001:db8::ff']), port, connections: 4000, inFlight: 64 });
    t.equal(load.delivered, 4000, 'every connection delivered');
    // 2001:db8::1..f fall in the /124, ::10 and ::ff do not.
    const expectedLow = Array.from({ length: 4000 }, (_, i) => i % 17).filter((k) => k < 15).length;
    t.equal(load.byReceiver.get('low'), expectedLow, `the /124 went to low, as with one worker (${JSON.stringify([...load.byReceiver])})`);
    t.equal(load.byReceiver.get('high'), 4000 - expectedLow, 'the rest of the /64 went to high');
    t.equal(await server.stop(), 0);
    const counts = perWorker(server.stderr);
    t.equal(counts.length, 4, 'four workers');
    t.ok(counts.every((n) => n > 0), `every worker accepted connections (${counts.join(', ')})`);
    t.equal(counts.reduce((a, b) => a + b, 0), 4000, 'and together exactly the connections made');
  });
}

t.test('reloads every 50 ms under load: no connection lost, each decided by one table; a bad config changes nothing', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const names = ['x1', 'x2', 'y1', 'y2'];
  const receivers = await Promise.all(names.map((n) => startDrain(n)));
  children.push(...receivers);
  const conf = path.join(dir, 'reload.conf');
  const configX = splitConfig('x1', 'x2');
  const configY = splitConfig('y1', 'y2');
  fs.writeFileSync(conf, configX);
  const port = nextPort++;
  const server = startSocketbox(['--workers', '2', '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  let flips = 0;
  let badAt = -1;
  const flipper = setInterval(() => {
    flips++;
    if (flips === 20) {
      badAt = flips;
      fs.writeFileSync(conf, 'max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::1 jump-unix:/a\nip:2001:db8::2 jump-unix:/b\n');
    } else {
      fs.writeFileSync(conf, flips % 2 ? configY : configX);
    }
    server.proc.kill('SIGHUP');
  }, 50);
  const load = await runLoad({ hosts: HOSTS.concat(['2001:db8::ff']), port, connections: 20_000, inFlight: 64 });
  clearInterval(flipper);
  t.equal(load.delivered, 20_000, 'all 20,000 connections delivered');
  t.equal(load.refused, 0, 'none refused');
  const total = [...load.byReceiver.entries()].reduce((n, [name, c]) => (names.includes(name) ? n + c : n), 0);
  t.equal(total, 20_000, 'every connection reached a target of one of the two configs');
  t.ok((load.byReceiver.get('x1') ?? 0) > 0 && (load.byReceiver.get('y1') ?? 0) > 0, `both configs were in force at some point (${JSON.stringify([...load.byReceiver])})`);
  t.ok(flips > 10, `the config was switched ${flips} times`);
  t.ok(badAt > 0, 'an invalid config was installed mid-run');
  t.match(server.stderr, new RegExp(`reload failed, keeping the previous rules: ${conf.replace(/[.]/g, '\\.')}:5:1: `), 'and reported with file:line:column');
  t.equal(await server.stop(), 0);
  const reports = await Promise.all(receivers.map(drainReport));
  t.equal(reports.reduce((n, r) => n + r.count, 0), 20_000, 'the receivers counted every connection');
  t.match(server.stderr, 'accepted 20000, delivered 20000, refused 0');
});

t.test('a worker killed under load is restarted and no connection is lost', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const sink = await startDrain('sink');
  children.push(sink);
  const port = nextPort++;
  const server = new Child(
    spawn(SOCKETBOX, ['--workers', '2', '-S', path.join(dir, 'sink.sock'), '-l', '::', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SOCKETBOX_TEST_CONTROL: '1' },
    }),
  );
  children.push(server);
  await waitForListening(port);
  let kills = 0;
  const load = await runLoad({
    hosts: HOSTS,
    port,
    connections: 10_000,
    inFlight: 64,
    onProgress: (done) => {
      if (done % 2000 === 1000) {
        kills++;
        server.proc.kill('SIGURG');
      }
    },
  });
  t.equal(kills, 5, 'five loops left their threads during the run');
  t.equal(load.delivered, 10_000, 'every connection delivered');
  await waitFor('five restarts logged', () => (server.stderr.match(/restarting it/g) ?? []).length === 5);
  t.equal(await server.stop(), 0);
  t.match(server.stderr, 'accepted 10000, delivered 10000, refused 0');
  t.equal((await drainReport(sink)).count, 10_000, 'the receiver got them all');
});

t.test('SIGTERM under load delivers every connection that was accepted', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const slow = await startDrain('slow', 3000);
  children.push(slow);
  const port = nextPort++;
  const server = startSocketbox(['--workers', '2', '-S', path.join(dir, 'slow.sock'), '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  let signalled = false;
  const load = await runLoad({
    hosts: HOSTS,
    port,
    connections: 3000,
    inFlight: 64,
    timeoutMs: 10_000,
    onProgress: (done) => {
      if (done === 1000 && !signalled) {
        signalled = true;
        server.proc.kill('SIGTERM');
      }
    },
  });
  t.equal(await server.wait(), 0, 'exit status 0');
  const m = /accepted (\d+), delivered (\d+), refused (\d+)/.exec(server.stderr);
  t.ok(m, 'the final accounting was printed');
  const [accepted, delivered, refused] = (m ?? []).slice(1).map(Number);
  t.equal(delivered, accepted, 'every accepted connection was delivered');
  t.equal(refused, 0, 'none refused');
  t.equal(load.delivered, delivered, 'the clients got an answer on exactly those');
  t.equal((await drainReport(slow)).count, delivered, 'the receiver counted them');
});

t.test('a worker that keeps dying is given up with connections waiting: each is reset and counted', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const held = await startDrainReceiver(path.join(dir, 'held.sock'), 'held', { hold: true });
  children.push(held);
  const port = nextPort++;
  const metricsPort = nextPort++;
  const server = new Child(
    spawn(SOCKETBOX, ['--dispatch-timeout', '120s', '--metrics', String(metricsPort), '-S', path.join(dir, 'held.sock'), '-l', '::', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SOCKETBOX_TEST_CONTROL: '1' },
    }),
  );
  children.push(server);
  await waitForListening(port);
  const load = runLoad({ hosts: HOSTS, port, connections: 40, inFlight: 40, timeoutMs: 120_000 });
  await waitForSample(metricsPort, 'socketbox_connections_accepted_total{worker="0"}', (v) => v === 40);
  const waiting = (await scrape(metricsPort)).get(`socketbox_connections_pending{target="unix:${path.join(dir, 'held.sock')}"}`) ?? 0;
  t.ok(waiting > 0, `${waiting} connections wait for the held receiver`);
  // Each SIGURG ends the loop as a crash would, its waiters kept for the restart; the 11th within a minute is one too many.
  for (let kills = 1; !server.stderr.includes('giving up'); kills++) {
    server.proc.kill('SIGURG');
    const restarted = async (): Promise<boolean> => (await scrape(metricsPort).catch(() => new Map())).get('socketbox_worker_restarts_total') === kills;
    const deadline = Date.now() + 15_000;
    while (!server.stderr.includes('giving up') && !(await restarted())) {
      if (Date.now() > deadline) throw new Error(`no restart ${kills}; stderr: ${server.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  t.equal(await server.wait(), 1, 'socketbox stops with status 1');
  const m = /stopped; accepted (\d+), delivered (\d+), refused (\d+) \(draining (\d+)\)/.exec(server.stderr);
  t.ok(m, `every connection accounted for: ${/stopped; ([^;]*)/.exec(server.stderr)?.[1]}`);
  const [accepted, delivered, refused, draining] = (m ?? []).slice(1).map(Number);
  t.equal(accepted, 40);
  t.equal(delivered + refused, accepted, 'accepted = delivered + refused');
  t.equal(draining, waiting, `the ${waiting} that waited were reset and counted as draining`);
  held.proc.kill('SIGUSR1');
  const result = await load;
  t.equal(result.delivered, delivered, 'the receiver answered exactly those handed over');
  t.equal(result.refused, refused, 'the clients of the others were closed');
});
