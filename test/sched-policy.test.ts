/**
 * --sched-policy, end to end in a private network namespace: by default every
 * accept-loop thread (and only those) runs SCHED_BATCH, a restarted worker
 * gets it again, and `other` puts the loops in SCHED_OTHER even when
 * socketbox itself was started in SCHED_BATCH, and a refusal by the kernel is
 * a warning, not a failure; `adaptive` starts in SCHED_OTHER, switches to
 * SCHED_BATCH while connections wait for a receiver, and back once they come
 * one at a time. The kernel's own view is read from
 * /proc/PID/task/TID/stat; every setting serves all its connections.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { threadSchedPolicies } from '../testkit/proc-stat';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { startDrainReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';

enterTestNetns();

const SOCKETBOX = path.join(__dirname, '..', 'bin', 'socketbox');
const SCHED_OTHER = 0;
const SCHED_BATCH = 3;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-sched-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const HOSTS = ['2001:db8::1', '2001:db8::2'];
let nextPort = 8700;

/** The scheduling policy of each thread of pid. */
const threadPolicies = (pid: number): number[] => [...threadSchedPolicies(pid).values()];

const count = (policies: number[], policy: number): number => policies.filter((p) => p === policy).length;

interface Run {
  server: Child;
  port: number;
  sink: Child;
}

/** socketMode: for a server that runs as another user, who must be able to send to the receiver. */
async function startServer(t: Test, args: string[], prefix: string[] = [], socketMode?: number, holdReceiver = false): Promise<Run> {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const socketPath = path.join(dir, `sink-${nextPort}.sock`);
  const sink = await startDrainReceiver(socketPath, 'sink', { hold: holdReceiver });
  children.push(sink);
  if (socketMode !== undefined) fs.chmodSync(socketPath, socketMode);
  const port = nextPort++;
  const argv = [...prefix, SOCKETBOX, ...args, '-S', socketPath, '-l', '::', '-p', String(port)];
  const server = new Child(
    spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SOCKETBOX_TEST_CONTROL: '1' } }),
  );
  children.push(server);
  await waitForListening(port);
  return { server, port, sink };
}

async function serveAndStop(t: Test, run: Run, connections: number): Promise<void> {
  const load = await runLoad({ hosts: HOSTS, port: run.port, connections, inFlight: 32 });
  t.equal(load.delivered, connections, `all ${connections} connections delivered`);
  t.equal(await run.server.stop(), 0, 'stops cleanly');
  t.match(run.server.stderr, `delivered ${connections}, refused 0`);
  t.equal((await stopDrainReceiver(run.sink)).count, connections, 'the receiver got them all');
}

t.test('default: the accept loops, and only they, run SCHED_BATCH', async (t) => {
  const run = await startServer(t, ['--workers', '2']);
  // The workers set it as they start their loops, just after the listener is up.
  await waitFor('two SCHED_BATCH threads', () => count(threadPolicies(run.server.proc.pid!), SCHED_BATCH) === 2);
  const policies = threadPolicies(run.server.proc.pid!);
  t.equal(count(policies, SCHED_BATCH), 2, 'one SCHED_BATCH thread per worker');
  t.equal(count(policies, SCHED_OTHER), policies.length - 2, `every other thread keeps SCHED_OTHER (${policies.join(',')})`);
  await serveAndStop(t, run, 2000);
});

t.test('a restarted worker runs SCHED_BATCH again', async (t) => {
  const run = await startServer(t, ['--workers', '2']);
  await waitFor('two SCHED_BATCH threads', () => count(threadPolicies(run.server.proc.pid!), SCHED_BATCH) === 2);
  const batchThreads = (): number[] => [...threadSchedPolicies(run.server.proc.pid!)].filter(([, p]) => p === SCHED_BATCH).map(([tid]) => tid);
  const before = batchThreads();
  run.server.proc.kill('SIGURG'); // one loop leaves its thread as if the thread had died
  await waitFor('the restart logged', () => /restarting it/.test(run.server.stderr));
  await waitFor('a new SCHED_BATCH thread in place of the ended one', () => batchThreads().filter((tid) => !before.includes(tid)).length === 1 && batchThreads().length === 2);
  t.pass('the new loop thread runs SCHED_BATCH, the ended one is gone');
  await serveAndStop(t, run, 1000);
});

t.test('--sched-policy other: SCHED_OTHER, even when started under SCHED_BATCH', async (t) => {
  // chrt -b 0 starts the whole process (every thread it creates) in SCHED_BATCH.
  const run = await startServer(t, ['--workers', '2', '--sched-policy', 'other'], ['chrt', '-b', '0']);
  await waitFor('the loops back in SCHED_OTHER', () => count(threadPolicies(run.server.proc.pid!), SCHED_OTHER) >= 2);
  const policies = threadPolicies(run.server.proc.pid!);
  t.ok(count(policies, SCHED_BATCH) >= 1, 'the threads that were not told otherwise kept chrt\'s SCHED_BATCH');
  t.equal(count(policies, SCHED_OTHER), 2, 'exactly the two accept loops run SCHED_OTHER');
  t.notMatch(run.server.stderr, /cannot set/, 'no warning');
  await serveAndStop(t, run, 2000);
});

t.test('a thread the kernel will not move to SCHED_BATCH: a warning, and it serves as it is', async (t) => {
  // Leaving SCHED_IDLE needs RLIMIT_NICE room or CAP_SYS_NICE: nobody, with a zero limit, has neither.
  fs.chmodSync(dir, 0o755);
  const run = await startServer(t, ['--workers', '2'], ['prlimit', '--nice=0', 'chrt', '-i', '0', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], 0o777);
  await waitFor('a warning from each worker', () => (run.server.stderr.match(/cannot set SCHED_BATCH/g) ?? []).length === 2);
  t.match(run.server.stderr, /worker \d+: cannot set SCHED_BATCH: sched_setscheduler: .*; serving with the policy it has/);
  const SCHED_IDLE = 5;
  t.equal(count(threadPolicies(run.server.proc.pid!), SCHED_IDLE), threadPolicies(run.server.proc.pid!).length, 'every thread still SCHED_IDLE');
  await serveAndStop(t, run, 1000);
});

t.test('adaptive: SCHED_OTHER one at a time, SCHED_BATCH while connections wait, back when quiet', async (t) => {
  const run = await startServer(t, ['--workers', '1', '--sched-policy', 'adaptive', '--dispatch-timeout', '30s'], [], undefined, true);
  const pid = run.server.proc.pid!;
  await waitFor('the loop running', () => /listening on/.test(run.server.stderr));
  const loopPolicy = (): number[] => [...threadSchedPolicies(pid)].filter(([tid]) => fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'socketbox-loop').map(([, p]) => p);
  t.same(loopPolicy(), [SCHED_OTHER], 'the loop thread starts in SCHED_OTHER');
  t.equal(count(threadPolicies(pid), SCHED_BATCH), 0, 'no thread in SCHED_BATCH');
  // The receiver reads nothing yet: the connections wait in the loop, a burst.
  const burst = runLoad({ hosts: HOSTS, port: run.port, connections: 200, inFlight: 50, timeoutMs: 30_000 });
  await waitFor('the loop in SCHED_BATCH while connections wait', () => loopPolicy()[0] === SCHED_BATCH);
  t.pass('SCHED_BATCH while connections wait for the receiver');
  run.sink.proc.kill('SIGUSR1'); // the receiver starts reading
  t.equal((await burst).delivered, 200, 'the waiting connections delivered');
  // One at a time: after 64 quiet wake-ups the loop goes back.
  const quiet = await runLoad({ hosts: HOSTS, port: run.port, connections: 150, inFlight: 1 });
  t.equal(quiet.delivered, 150, 'one at a time, every connection delivered');
  await waitFor('the loop back in SCHED_OTHER', () => loopPolicy()[0] === SCHED_OTHER, 5_000);
  t.pass('SCHED_OTHER again once connections come one at a time');
  t.equal(await run.server.stop(), 0, 'stops cleanly');
  t.match(run.server.stderr, 'accepted 350, delivered 350, refused 0');
});

t.test('--sched-policy takes batch, other or adaptive only', async (t) => {
  const child = new Child(spawn(SOCKETBOX, ['--sched-policy', 'fifo', '-S', '/nonexistent', '-p', '1'], { stdio: ['ignore', 'pipe', 'pipe'] }));
  t.equal(await child.wait(), 2, 'a usage error');
  t.match(child.stderr, "--sched-policy: expected one of batch, other, adaptive, got 'fifo'");
});
