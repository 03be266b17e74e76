// socketbox-relay under pressure: backends that never answer or refuse, a limit on
// connections (intake pauses, nothing is lost, and a paused intake whose source hung up
// does not spin), a descriptor limit, a stalled backend that must not hold up others nor
// make the relay spin, descriptor hygiene, and clean stops.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { sleep, waitFor } from '../testkit/wait';
import { openFds } from '../testkit/proc-fds';
import { cpuTicks } from '../testkit/proc-stat';
import { memoryKiB } from '../testkit/proc-status';
import { heldTcpConnections, waitForListening } from '../testkit/proc-tcp';
import { handoverConnection } from './helpers/handover-connection';
import { startBlackholeBackend } from './helpers/relay-blackhole';
import { startEchoBackend } from './helpers/relay-backends';
import { connectTo, nextData, readEnd, relayExchange } from './helpers/relay-client';
import { exited, relayBin, startFrontAndRelay, startRelay, startRelayOnListener, type RunningProgram } from './helpers/relay-process';
import { tempDir } from '../testkit/temp-dir';
import { unixPair } from './helpers/relay-unix-pair';

const FRONT_PORT = 8080;
const BACKEND_PORT = 9000;

async function front(t: Test, relayArgs: string[]): Promise<RunningProgram> {
  const tmp = tempDir();
  const { relay, stop } = await startFrontAndRelay(tmp.dir, FRONT_PORT, relayArgs);
  t.teardown(async () => {
    await stop();
    tmp.remove();
  });
  return relay;
}

async function echo(t: Test): Promise<void> {
  const backend = await startEchoBackend('::1', BACKEND_PORT);
  t.teardown(backend.close);
}

t.test('a backend that never answers: the connect gives up after -T, the client is closed', async (t) => {
  const blackhole = await startBlackholeBackend(BACKEND_PORT);
  t.teardown(() => {
    blackhole.kill('SIGKILL');
  });
  const relay = await front(t, ['-p', String(BACKEND_PORT), '-T', '400']);
  const started = Date.now();
  const r = await relayExchange({ host: '2001:db8::1', port: FRONT_PORT, input: 'anyone?', allowReset: true });
  const elapsed = Date.now() - started;
  t.equal(r.output.length, 0, 'nothing came back');
  t.ok(elapsed >= 350 && elapsed < 3000, `closed after the timeout (${elapsed} ms)`);
  await waitFor('the timeout in the log', () => /cannot connect to the backend: Connection timed out/.test(relay.stderr()));
});

t.test('a backend that refuses: the client is closed at once', async (t) => {
  const relay = await front(t, ['-p', String(BACKEND_PORT)]);
  const r = await relayExchange({ host: '2001:db8::1', port: FRONT_PORT, input: 'anyone?', allowReset: true });
  t.equal(r.output.length, 0);
  await waitFor('the refusal in the log', () => /cannot connect to the backend: Connection refused/.test(relay.stderr()));
});

t.test('-m 1: a second connection waits for the first to end, and is then served', async (t) => {
  await echo(t);
  await front(t, ['-q', '-m', '1', '-p', String(BACKEND_PORT)]);
  const first = await connectTo('2001:db8::1', FRONT_PORT);
  first.write('one');
  t.equal((await nextData(first)).toString(), 'one');
  const second = await connectTo('2001:db8::1', FRONT_PORT);
  let secondGot = '';
  second.on('data', (c: Buffer) => (secondGot += c.toString()));
  second.write('two');
  await sleep(400);
  t.equal(secondGot, '', 'not served while the first holds the only place');
  first.end();
  await readEnd(first);
  await waitFor('the second reply', () => secondGot === 'two', 5000);
  t.pass('served once the first ended');
  second.destroy();
  first.destroy();
});

t.test('-m 1 paused while the sender hangs up: no busy loop; intake resumes, serves the queued one, then stops', async (t) => {
  await echo(t);
  const tmp = tempDir();
  t.teardown(tmp.remove);
  // A stream socket carries the connections (-l 3 -e): when the sender closes its end, the
  // relay's end reports HUP to epoll for as long as nobody reads it.
  const pair = await unixPair(path.join(tmp.dir, 'sender.sock'));
  const child = spawn(relayBin, ['-l', '3', '-e', '-q', '-m', '1', '-p', String(BACKEND_PORT)], {
    stdio: ['ignore', 'ignore', 'pipe', pair.farFd],
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  pair.far.destroy();
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited(child);
  });
  const senderFd = (pair.near as unknown as { _handle: { fd: number } })._handle.fd;
  const clientAddon = loadClientAddon();
  const held = await handoverConnection('::1');
  clientAddon.sendFds(senderFd, [held.fd], null, true);
  held.release();
  await waitFor('the relay to hold the first connection and its backend', () => heldTcpConnections(child.pid!) === 2);
  const queued = await handoverConnection('::1');
  clientAddon.sendFds(senderFd, [queued.fd], null, true);
  queued.release();
  pair.near.destroy(); // HUP on the relay's source while its intake is paused
  await sleep(200);

  const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  const ticks = cpuTicks(child.pid!);
  const started = Date.now();
  await sleep(1000);
  const cpuSeconds = (cpuTicks(child.pid!) - ticks) / clockTicks;
  const wallSeconds = (Date.now() - started) / 1000;
  t.ok(cpuSeconds < 0.1 * wallSeconds, `no busy loop while paused (${cpuSeconds.toFixed(2)} s of CPU in ${wallSeconds.toFixed(2)} s)`);
  t.equal(child.exitCode, null, 'still running: a connection waits for a place');

  t.equal(await held.talk('one'), 'one', 'the held connection still works');
  t.equal(await queued.talk('two'), 'two', 'intake resumed: the queued connection is served');
  t.equal(await exited(child), 0, 'then the end of the source is seen: status 0');
  t.match(stderr, /the sender closed the receiving socket; stopping/);
});

t.test('a small descriptor limit: 40 simultaneous clients all get their answers', async (t) => {
  await echo(t);
  const relay = await startRelayOnListener('::', FRONT_PORT, ['-q', '-p', String(BACKEND_PORT)], {
    wrapper: ['prlimit', '--nofile=64:64'],
  });
  t.teardown(relay.stop);
  await waitForListening(FRONT_PORT);
  const results = await Promise.all(
    Array.from({ length: 40 }, (_, i) => relayExchange({ host: '2001:db8::1', port: FRONT_PORT, input: `client ${i}` })),
  );
  t.same(
    results.map((r) => r.output.toString()),
    Array.from({ length: 40 }, (_, i) => `client ${i}`),
  );
  t.ok(openFds(relay.pid).length <= 64, 'within the limit');
  t.notMatch(relay.stderr(), /dropped|Too many open files/, 'nothing dropped');
});

t.test('a stalled backend holds up neither other connections nor the CPU, nor grows memory', async (t) => {
  let first = true;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    if (first) {
      first = false;
      s.pause(); // never reads: the relay's writes to it stall
    } else {
      s.pipe(s);
    }
  });
  await new Promise<void>((resolve) => server.listen({ host: '::1', port: BACKEND_PORT }, resolve));
  t.teardown(() => {
    server.close();
  });
  const relay = await front(t, ['-q', '-p', String(BACKEND_PORT)]);
  // Warm up: the first connection goes to the stalled side, so make it now.
  const stalled = await connectTo('2001:db8::1', FRONT_PORT);
  stalled.on('error', () => {});
  const rssBefore = memoryKiB(relay.pid, 'VmRSS');
  const chunk = Buffer.alloc(1 << 20, 7);
  for (let i = 0; i < 64; i++) stalled.write(chunk); // more than all the buffers on the way hold
  await sleep(500);
  t.ok(stalled.writableLength > 0, 'the client is blocked: everything on the way is full');

  const ticks = cpuTicks(relay.pid);
  await sleep(1000);
  const used = cpuTicks(relay.pid) - ticks;
  t.ok(used <= 3, `no busy loop while stalled (${used} ticks of CPU in 1 s)`);

  const started = Date.now();
  const other = await relayExchange({ host: '2001:db8::1', port: FRONT_PORT, input: 'still served' });
  t.equal(other.output.toString(), 'still served');
  t.ok(Date.now() - started < 2000, 'promptly');
  const grown = memoryKiB(relay.pid, 'VmRSS') - rssBefore;
  t.ok(grown < 4096, `memory did not grow with the stalled bytes (${grown} KiB)`);
  stalled.destroy();
});

t.test('descriptors: none left behind after many connections', async (t) => {
  await echo(t);
  const relay = await front(t, ['-q', '-p', String(BACKEND_PORT)]);
  await relayExchange({ host: '2001:db8::1', port: FRONT_PORT, input: 'warm up' });
  await sleep(100);
  const baseline = openFds(relay.pid).length;
  for (let i = 0; i < 100; i++) await relayExchange({ host: '2001:db8::1', port: FRONT_PORT, input: `n${i}` });
  // Parallel, but fewer than a datagram queue holds (net.unix.max_dgram_qlen = 10): this is
  // about the relay's descriptors, not about socketbox under a burst.
  await Promise.all(Array.from({ length: 8 }, () => relayExchange({ host: '2001:db8::1', port: FRONT_PORT, input: 'x' })));
  await waitFor('descriptors back to the baseline', () => openFds(relay.pid).length <= baseline + 2 * 2 * 8, 5000);
  // Parallel connections leave emptied pipes in the pool (bounded); sequential ones reuse them.
  const afterBurst = openFds(relay.pid).length;
  for (let i = 0; i < 50; i++) await relayExchange({ host: '2001:db8::1', port: FRONT_PORT, input: `m${i}` });
  await sleep(100);
  t.equal(openFds(relay.pid).length, afterBurst, 'steady: no descriptor leaks per connection');
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal} stops the relay cleanly: status 0, connections closed, socket file removed`, async (t) => {
    await echo(t);
    const tmp = tempDir();
    t.teardown(tmp.remove);
    const socketPath = path.join(tmp.dir, 'relay.sock');
    const { relay, front: sb } = await startFrontAndRelay(tmp.dir, FRONT_PORT, ['-q', '-p', String(BACKEND_PORT)]);
    t.teardown(() => sb.stop());
    const open = await connectTo('2001:db8::1', FRONT_PORT);
    open.write('hello');
    t.equal((await nextData(open)).toString(), 'hello');
    const started = Date.now();
    relay.child.kill(signal);
    t.equal(await relay.stop(), 0, 'exit status 0');
    t.ok(Date.now() - started < 3000, 'promptly');
    await readEnd(open);
    t.pass('the open connection was closed');
    t.notOk(fs.existsSync(socketPath), 'the socket file is gone');
    open.destroy();
  });
}

t.test('a stale socket file is replaced; a live receiver is not', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const socketPath = path.join(tmp.dir, 'relay.sock');
  const first = await startRelay(socketPath, ['-q']);
  first.child.kill('SIGKILL'); // leaves its socket file behind
  await first.stop();
  t.ok(fs.existsSync(socketPath), 'stale file left');
  const second = await startRelay(socketPath, ['-q']);
  t.teardown(second.stop);
  t.pass('bound over the stale file');
  const third = await startRelay(socketPath, ['-q']).catch((e: Error) => e);
  t.match((third as Error).message, /exited 1: .*cannot bind .*Address already in use \(another receiver is bound there\)/);
});
