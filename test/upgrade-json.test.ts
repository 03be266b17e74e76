/**
 * The live upgrade of a JSON-config server (SIGUSR2), end to end in a private network
 * namespace: the listeners, the registration socket, the registered receivers' connections
 * and the --metrics socket are handed over. A socketbox-inetd-p registered before the upgrade
 * keeps getting connections after it without registering again (it would have exited: it
 * exits when its registration ends), a new receiver registers with the new process, and
 * no connection is lost or refused across both processes.
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
import { binPath } from '../testkit/project-root';
import { runLoad } from '../testkit/load-generator';
import { scrape, startJsonServer, waitForRegistered, waitForSample } from './helpers/registration';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-upgrade-json-'));
const HOSTS = Array.from({ length: 8 }, (_, i) => `2001:db8::${i + 1}`);
const PORT = 8750;
const METRICS = 8751;
const api = path.join(dir, 'api.sock');

/** socketbox-inetd-p registered for slot, answering each connection "ok NAME" (what runLoad waits for). */
const inetdP = (slot: number, name: string): Child =>
  new Child(spawn(binPath('socketbox-inetd-p'), [api, String(slot), 'sh', '-c', 'echo "ok $0"; head -n 1', name], { stdio: ['ignore', 'pipe', 'pipe'] }));

const stopLines = (stderr: string): Array<{ accepted: number; delivered: number; refused: number }> =>
  [...stderr.matchAll(/stopped; accepted (\d+), delivered (\d+), refused (\d+)/g)].map((m) => ({ accepted: Number(m[1]), delivered: Number(m[2]), refused: Number(m[3]) }));

t.test('JSON config: registrations, the registration socket and the metrics port survive an upgrade under load', async (t) => {
  const children: Child[] = [];
  let newPid = 0;
  t.teardown(async () => {
    if (newPid) process.kill(newPid, 'SIGKILL');
    await stopAll(children);
  });
  const config = {
    'socketbox-version': 1,
    incoming: [{ address: '::', port: PORT }],
    paths: [{ socket: api }],
    outgoing: [{ uid: 0, path_nr: 0 }, { uid: 0, path_nr: 0 }],
    rules: { _start: { type: 'rule', rules: [{ l_ip: '2001:db8::8', jump: 'o:1' }, { l_ip: '2001:db8::/64', jump: 'o:0' }] } },
  };
  const server = startJsonServer(path.join(dir, 'socketbox.json'), config, METRICS, ['--no-fast-path', '--workers', '2']);
  children.push(server);
  await waitForListening(PORT);
  await waitForSample(METRICS, 'socketbox_registration_connections', (v) => v !== undefined, 15_000);
  const early = inetdP(0, 'early');
  children.push(early);
  await waitForRegistered(METRICS, 1);
  // Only slot 0 has a receiver for now: the load goes to 2001:db8::1..7.
  let signalled = false;
  const load = await runLoad({
    hosts: HOSTS.slice(0, 7),
    port: PORT,
    connections: 2000,
    inFlight: 16,
    onProgress: (n) => {
      if (n === 500) {
        signalled = true;
        server.proc.kill('SIGUSR2');
      }
    },
  });
  t.ok(signalled, 'SIGUSR2 after 500 connections');
  t.equal(load.refused, 0, '0 failed at the client');
  t.equal(load.delivered, 2000, 'every connection answered by the registered receiver');
  await waitFor(() => `the old process to exit; stderr: ${server.stderr}`, () => server.exitCode !== null, 30_000);
  t.equal(server.exitCode, 0, 'the old process exited 0');
  const m = /upgrade: pid (\d+) serves now/.exec(server.stderr);
  newPid = Number(m?.[1]);
  t.ok(newPid > 0 && newPid !== server.pid, `the pid changed (${server.pid} -> ${newPid})`);
  t.equal(early.exitCode, null, 'the receiver registered before the upgrade is still running: its registration never ended');
  const samples = await scrape(METRICS);
  t.equal(samples.get('socketbox_registered_slots'), 1, 'the new process serves the metrics port, and holds the registration it took over');
  t.equal(samples.get('socketbox_registrations_total{result="granted"}'), 0, 'the new process granted no registration: the receiver did not register again');
  const after = await runLoad({ hosts: HOSTS.slice(0, 7), port: PORT, connections: 200, inFlight: 16 });
  t.equal(after.delivered, 200, 'the taken-over registration keeps getting connections');
  // A receiver can register with the new process through the handed-over registration socket.
  const late = inetdP(1, 'late');
  children.push(late);
  await waitForRegistered(METRICS, 2);
  t.equal((await scrape(METRICS)).get('socketbox_registrations_total{result="granted"}'), 1, 'the new process granted that one');
  const toLate = await runLoad({ hosts: [HOSTS[7]], port: PORT, connections: 50, inFlight: 8 });
  t.equal(toLate.byReceiver.get('late'), 50, 'a new registration is served by the new process');
  process.kill(newPid, 'SIGTERM');
  await waitFor(() => `the new process's stop line; stderr: ${server.stderr}`, () => stopLines(server.stderr).length === 2, 20_000);
  const [old, next] = stopLines(server.stderr);
  t.equal(old.refused + next.refused, 0, 'refused 0 in both processes');
  t.equal(old.accepted, old.delivered, `the old process delivered all it accepted (${old.accepted})`);
  t.equal(old.accepted + next.accepted, 2250, 'accepted across both processes = connections made');
  t.equal(next.accepted, next.delivered, `the new process delivered all it accepted (${next.accepted})`);
  newPid = 0;
  t.equal(await early.wait(), 0, 'the receiver exits 0 once the new process stops: the registration ended only then');
});

t.test('JSON config with the fast path attached: the upgrade is refused, and says why', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const config = {
    'socketbox-version': 1,
    incoming: [{ address: '::', port: PORT + 2 }],
    paths: [{ socket: path.join(dir, 'api2.sock') }],
    outgoing: [{ uid: 0, path_nr: 0 }],
    rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } },
  };
  const server = startJsonServer(path.join(dir, 'fast.json'), config, METRICS + 2);
  children.push(server);
  await waitForSample(METRICS + 2, 'socketbox_registration_connections', (v) => v !== undefined, 15_000);
  t.match(server.stderr, 'fast path on: BPF sk_lookup attached', 'the fast path is attached (root, in the test namespace)');
  server.proc.kill('SIGUSR2');
  await waitFor(() => `the refusal; stderr: ${server.stderr}`, () => /upgrade refused/.test(server.stderr), 10_000);
  t.match(server.stderr, 'upgrade refused: the kernel fast path is attached; the new process could not attach it again without CAP_BPF (run with --no-fast-path to upgrade)');
  t.notMatch(server.stderr, 'upgrade: started', 'no new process was started');
  const load = await runLoad({ hosts: ['2001:db8::1'], port: PORT + 2, connections: 1, inFlight: 1, timeoutMs: 5000 });
  t.equal(load.refused, 1, 'the process goes on serving (no receiver: refused as before)');
  t.equal(await server.stop(), 0);
});
