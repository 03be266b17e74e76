/**
 * The live upgrade (SIGUSR2), end to end in a private network namespace: 20,000 connections
 * at 16 in flight while socketbox upgrades itself lose nothing (0 failed at the client,
 * accepted = delivered across both processes, refused 0), the pid changes and the old process
 * exits 0; an upgrade whose config is broken on disk, or whose new process never serves,
 * leaves the old one serving and says why; a second SIGUSR2 during an upgrade is refused.
 */
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { waitFor } from '../testkit/wait';
import { isAlive } from '../testkit/proc-stat';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX, startSocketbox } from '../testkit/socketbox';
import { startDrainReceiver, startFdTool, stopDrainReceiver } from '../testkit/fd-tool';
import { talk } from './helpers/client';
import { runLoad } from '../testkit/load-generator';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-upgrade-'));
const HOSTS = Array.from({ length: 16 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
let nextPort = 8700;

const sinkConfig = (sock: string): string => `max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::/64 jump-unix:${sock}\n`;

/** "stopped; accepted N, delivered N, refused 0 …" lines in the order the processes stopped. */
function stopLines(stderr: string): Array<{ accepted: number; delivered: number; refused: number }> {
  return [...stderr.matchAll(/stopped; accepted (\d+), delivered (\d+), refused (\d+)/g)].map((m) => ({
    accepted: Number(m[1]),
    delivered: Number(m[2]),
    refused: Number(m[3]),
  }));
}

/** A drain receiver NAME and socketbox ARGS -f CONF routing 2001:db8::/64 to it, serving on a port of its own. */
async function startSinkServer(children: Child[], name: string, args: string[]): Promise<{ sink: Child; server: Child; conf: string; port: number }> {
  const sockPath = path.join(dir, `${name}.sock`);
  const sink = await startDrainReceiver(sockPath, 'sink');
  children.push(sink);
  const conf = path.join(dir, `${name}.conf`);
  fs.writeFileSync(conf, sinkConfig(sockPath));
  const port = nextPort++;
  const server = startSocketbox([...args, '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  return { sink, server, conf, port };
}

/** The old process serves on: 500 connections, all delivered, then a clean stop with the books to match. */
async function servesOn(t: Test, server: Child, port: number): Promise<void> {
  const load = await runLoad({ hosts: HOSTS, port, connections: 500, inFlight: 16 });
  t.equal(load.delivered, 500, 'the old process serves every connection');
  t.equal(await server.stop(), 0, 'and stops with status 0');
  t.match(stopLines(server.stderr)[0], { accepted: 500, delivered: 500, refused: 0 });
}

t.test('20,000 connections at 16 in flight across an upgrade: none failed, none lost, the pid changed', async (t) => {
  const children: Child[] = [];
  let newPid = 0;
  t.teardown(async () => {
    if (newPid && isAlive(newPid)) process.kill(newPid, 'SIGKILL');
    await stopAll(children);
  });
  const { sink, server, port } = await startSinkServer(children, 'sink', ['--workers', '2']);
  let upgradeAt = 0;
  let doneAtServing = 0;
  let done = 0;
  const load = await runLoad({
    hosts: HOSTS,
    port,
    connections: 20_000,
    inFlight: 16,
    onProgress: (n) => {
      done = n;
      if (n === 5000) {
        upgradeAt = n;
        server.proc.kill('SIGUSR2');
      }
      if (doneAtServing === 0 && /upgrade: pid \d+ serves now/.test(server.stderr)) doneAtServing = n;
    },
  });
  t.equal(upgradeAt, 5000, 'SIGUSR2 was sent after 5,000 connections');
  t.equal(load.refused, 0, '0 connections failed at the client');
  t.equal(load.delivered, 20_000, 'every connection was answered by the receiver');
  t.ok(doneAtServing > 0 && doneAtServing < 20_000, `the new process served from connection ${doneAtServing} on, while the load ran (${done} in all)`);
  t.equal(await server.wait(), 0, 'the old process exited 0');
  const m = /upgrade: pid (\d+) serves now; pid (\d+) stops accepting/.exec(server.stderr);
  t.ok(m, 'the old process logged the new pid');
  newPid = Number(m?.[1]);
  t.not(newPid, server.pid, `the pid changed (${server.pid} -> ${newPid})`);
  t.equal(Number(m?.[2]), server.pid, 'the old one names itself');
  t.match(server.stderr, `took over from pid ${server.pid} (live upgrade)`, 'the new process logged that it took over');
  t.ok(isAlive(newPid), 'the new process serves on');
  // The new one serves on its own now: a few more connections, then its books.
  const after = await runLoad({ hosts: HOSTS, port, connections: 200, inFlight: 16 });
  t.equal(after.delivered, 200, 'the new process serves after the old one left');
  process.kill(newPid, 'SIGTERM');
  await waitFor(() => `the new process's stop line; stderr: ${server.stderr}`, () => stopLines(server.stderr).length === 2, 20_000);
  const [old, next] = stopLines(server.stderr);
  t.equal(old.refused + next.refused, 0, 'refused 0 in both processes');
  t.equal(old.accepted, old.delivered, `the old process delivered all it accepted (${old.accepted})`);
  t.equal(next.accepted, next.delivered, `the new process delivered all it accepted (${next.accepted})`);
  t.ok(old.accepted >= 5000 && next.accepted > 200, 'both processes took part');
  t.equal(old.accepted + next.accepted, 20_200, 'accepted across both processes = connections made: none lost');
  t.equal((await stopDrainReceiver(sink)).count, 20_200, 'the receiver counted every one');
});

t.test('a broken config on disk: the upgrade fails, the old process goes on serving and says why', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const { server, conf, port } = await startSinkServer(children, 'broken', []);
  fs.writeFileSync(conf, 'max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::/64 jump-nowhere:x\n');
  server.proc.kill('SIGUSR2');
  await waitFor(() => `the failure; stderr: ${server.stderr}`, () => /upgrade failed: /.test(server.stderr), 20_000);
  t.match(server.stderr, /upgrade failed: the new process \(pid \d+\) ended \(status 1\) before it served; .*; pid \d+ goes on serving/, 'the old process logs why');
  t.match(server.stderr, `${conf}:4:`, "the new process's own error names the broken line");
  t.equal(server.exitCode, null, 'the old process runs on');
  await servesOn(t, server, port);
});

t.test('a new process that never serves is killed at --upgrade-timeout; a second SIGUSR2 meanwhile is refused', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const { server, conf, port } = await startSinkServer(children, 'hang', ['--upgrade-timeout', '2s']);
  // The new process blocks reading its config: a FIFO nobody writes.
  fs.unlinkSync(conf);
  execFileSync('mkfifo', [conf]);
  server.proc.kill('SIGUSR2');
  await waitFor(() => `the start; stderr: ${server.stderr}`, () => /upgrade: started pid \d+/.test(server.stderr));
  const hung = Number(/upgrade: started pid (\d+)/.exec(server.stderr)?.[1]);
  server.proc.kill('SIGUSR2');
  await waitFor(() => `the refusal; stderr: ${server.stderr}`, () => /upgrade refused: an upgrade is under way already/.test(server.stderr));
  t.pass('a second SIGUSR2 during the upgrade is refused with a log line');
  await waitFor(() => `the timeout; stderr: ${server.stderr}`, () => /upgrade failed: /.test(server.stderr), 10_000);
  t.match(server.stderr, `upgrade failed: the new process (pid ${hung}) did not serve within 2 s; it was killed; pid ${server.pid} goes on serving`);
  await waitFor('the new process to be gone', () => !isAlive(hung));
  await servesOn(t, server, port);
});

t.test('-x: an upgrade is refused, since the new process could not chroot; the old one serves on', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const { server, port } = await startSinkServer(children, 'chroot', ['-x', '/']);
  server.proc.kill('SIGUSR2');
  await waitFor(() => `the refusal; stderr: ${server.stderr}`, () => /upgrade refused/.test(server.stderr));
  t.match(server.stderr, 'upgrade refused: -x /: the new process would start inside the chroot');
  t.notMatch(server.stderr, 'upgrade: started', 'no new process was started');
  await servesOn(t, server, port);
});

t.test('jump-fd:3 keeps its number: the new process delivers over the same inherited descriptor', async (t) => {
  const port = nextPort++;
  const conf = path.join(dir, 'fd.conf');
  fs.writeFileSync(conf, 'max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::7 jump-fd:3\n');
  const wrapper = startFdTool(['socketpair', 'viafd', '--outlive', '--', SOCKETBOX, '-f', conf, '-l', '::', '-p', String(port)]);
  let upgraded = 0;
  t.teardown(async () => {
    if (upgraded && isAlive(upgraded)) process.kill(upgraded, 'SIGKILL');
    await stopAll([wrapper]);
  });
  await waitForListening(port);
  t.equal((await talk('2001:db8::7', port, { line: 'a' })).echo, 'viafd echo:a', 'delivered over descriptor 3 before');
  const old = Number(wrapper.events.find((e) => e.ready)?.pid);
  process.kill(old, 'SIGUSR2');
  await waitFor(() => `the upgrade; stderr: ${wrapper.stderr}`, () => /upgrade: pid \d+ serves now/.test(wrapper.stderr), 20_000);
  upgraded = Number(/upgrade: pid (\d+) serves now/.exec(wrapper.stderr)?.[1]);
  await wrapper.waitForEvent((e) => e.exit === 0, 20_000, 'the old process to exit 0');
  t.equal((await talk('2001:db8::7', port, { line: 'b' })).echo, 'viafd echo:b', `the new process (${upgraded}) delivers over the same descriptor 3`);
});

t.test('-d: the upgraded process is not daemonized again', async (t) => {
  const children: Child[] = [];
  let upgraded = 0;
  t.teardown(async () => {
    if (upgraded && isAlive(upgraded)) process.kill(upgraded, 'SIGKILL');
    await stopAll(children);
  });
  const { server, port } = await startSinkServer(children, 'daemon', ['-d']);
  t.equal(await server.wait(), 0, 'the -d parent exits 0');
  const daemon = Number(/daemon running as pid (\d+)/.exec(server.stdout)?.[1]);
  process.kill(daemon, 'SIGUSR2');
  await waitFor(() => `the upgrade; stderr: ${server.stderr}`, () => /upgrade: pid \d+ serves now/.test(server.stderr), 20_000);
  upgraded = Number(/upgrade: pid (\d+) serves now/.exec(server.stderr)?.[1]);
  await waitFor('the old daemon to exit', () => !isAlive(daemon), 20_000);
  t.equal(server.stdout.match(/daemon running as pid/g)?.length, 1, 'no second "daemon running" line');
  t.equal(fs.readFileSync(`/proc/${upgraded}/stat`, 'utf8').split(' ')[5], String(upgraded), `the new process (${upgraded}) leads a session of its own`);
  const load = await runLoad({ hosts: HOSTS, port, connections: 200, inFlight: 16 });
  t.equal(load.delivered, 200, 'and serves');
});

t.test('a SIGUSR2 while socketbox is still starting is refused with a log line, not fatal', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const sockPath = path.join(dir, 'early.sock');
  const sink = await startDrainReceiver(sockPath, 'sink');
  children.push(sink);
  // socketbox waits at step 12 (read the config) on a FIFO until the test writes it.
  const conf = path.join(dir, 'early.conf');
  execFileSync('mkfifo', [conf]);
  const port = nextPort++;
  const server = startSocketbox(['-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  // Its main thread blocks opening the FIFO: the kernel's wait for a writer.
  await waitFor('socketbox to wait on the FIFO', () => fs.readFileSync(`/proc/${server.pid}/wchan`, 'utf8') === 'wait_for_partner', 15_000);
  server.proc.kill('SIGUSR2');
  fs.writeFileSync(conf, sinkConfig(sockPath));
  // The handler runs once the main thread gets back to its event loop, still starting.
  await waitFor(() => `the refusal; stderr: ${server.stderr}`, () => /upgrade refused: socketbox is still starting/.test(server.stderr));
  await waitForListening(port);
  t.equal(server.exitCode, null, 'socketbox went on starting');
  await servesOn(t, server, port);
});
