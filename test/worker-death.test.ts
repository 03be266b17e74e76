/**
 * A worker thread that really dies: SOCKETBOX_TEST_CONTROL=terminate makes SIGURG terminate
 * the thread of one accept loop (Worker.terminate through the pool) while it is inside its
 * native loop, with connections flowing and others waiting for a receiver that reads
 * nothing. The loop is taken back from the dead thread and run on a new one: exactly one
 * thread per loop afterwards, the waiting backlog is served, and accepted = delivered +
 * refused, as the clients and the receiver saw it, in a private network namespace.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { threadSchedPolicies } from '../testkit/proc-stat';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX } from '../testkit/socketbox';
import { startDrainReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-worker-death-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const HOSTS = ['2001:db8::1', '2001:db8::2', '2001:db8::3'];
const SCHED_BATCH = 3;

/** Threads of pid in SCHED_BATCH: the accept loops. */
const loopThreads = (pid: number): number => [...threadSchedPolicies(pid).values()].filter((policy) => policy === SCHED_BATCH).length;

/** Polls a metric until pred holds; its last value. */
async function waitForMetric(port: number, name: string, pred: (v: number) => boolean, what: string): Promise<number> {
  let v = 0;
  await waitFor(() => `${what} (${name} = ${v})`, async () => pred((v = await metric(port, name))), 10_000, 20);
  return v;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

t.test('a worker thread terminated inside its loop: restarted, backlog served, nothing lost', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const socketPath = path.join(dir, 'sink.sock');
  const sink = await startDrainReceiver(socketPath, 'sink', { hold: true });
  children.push(sink);
  const port = 8801;
  const metricsPort = 9801;
  const server = new Child(
    spawn(SOCKETBOX, ['--workers', '2', '--dispatch-timeout', '30s', '--metrics', String(metricsPort), '-S', socketPath, '-l', '::', '-p', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SOCKETBOX_TEST_CONTROL: 'terminate' },
    }),
  );
  children.push(server);
  await waitForListening(port);
  await waitFor('two accept-loop threads', () => loopThreads(server.pid) === 2);

  // 1. The receiver reads nothing: connections wait in both loops; then both workers die.
  const backlog = runLoad({ hosts: HOSTS, port, connections: 300, inFlight: 300, timeoutMs: 20_000 });
  const waiting = await waitForMetric(metricsPort, 'socketbox_connections_pending', (v) => v >= 250, 'connections waiting for the receiver');
  server.proc.kill('SIGURG');
  await waitFor('the first restart', () => (server.stderr.match(/restarting it/g) ?? []).length === 1);
  server.proc.kill('SIGURG');
  await waitFor('the second restart', () => (server.stderr.match(/restarting it/g) ?? []).length === 2);
  t.match(server.stderr, /worker 0: its worker thread died: The task has been aborted/, 'the worker thread was terminated, not asked to stop');
  await waitForMetric(metricsPort, 'socketbox_worker_restarts_total', (v) => v === 2, 'two restarts counted');
  t.equal(await metric(metricsPort, 'socketbox_connections_pending'), waiting, `the ${waiting} waiting connections are still held`);
  sink.proc.kill('SIGUSR1'); // the receiver starts reading
  const first = await backlog;
  t.equal(first.delivered, 300, 'the backlog of the dead workers was delivered (by the restarted ones)');
  // A terminated thread cannot leave native code by itself: each loop must run on one thread.
  await waitFor('one thread per loop after the restarts', () => loopThreads(server.pid) === 2, 5_000).catch(() => undefined);
  t.equal(loopThreads(server.pid), 2, 'exactly one thread runs each loop after the restarts');

  // 2. Workers die while connections flow.
  let kills = 0;
  const flowing = await runLoad({
    hosts: HOSTS,
    port,
    connections: 3000,
    inFlight: 64,
    timeoutMs: 20_000,
    onProgress: (done) => {
      if (done % 1000 === 500) {
        kills++;
        server.proc.kill('SIGURG');
      }
    },
  });
  t.equal(kills, 3, 'three more worker threads terminated under load');
  t.equal(flowing.delivered, 3000, 'every connection delivered');
  await waitFor('five restarts logged', () => (server.stderr.match(/restarting it/g) ?? []).length === 5);
  await waitFor('one thread per loop', () => loopThreads(server.pid) === 2, 5_000).catch(() => undefined);
  t.equal(loopThreads(server.pid), 2, 'still exactly one thread per loop');

  t.equal(await server.stop(), 0, 'stops cleanly');
  const m = /accepted (\d+), delivered (\d+), refused (\d+)/.exec(server.stderr);
  t.ok(m, 'the final accounting was printed');
  const [accepted, delivered, refused] = (m ?? []).slice(1).map(Number);
  t.equal(accepted, 3300, 'accepted: every connection made');
  t.equal(delivered + refused, accepted, 'accepted = delivered + refused');
  t.equal(delivered, 3300, 'all delivered');
  t.equal((await stopDrainReceiver(sink)).count, 3300, 'the receiver got every one');
});
