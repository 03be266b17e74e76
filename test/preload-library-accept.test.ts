// libsocketbox-preload's accept()/accept4() on a magic-bound datagram socket (docs/wire-protocol.md):
// EAGAIN on an empty non-blocking queue, requested flags on the received connection, the
// peer address from getpeername, invalid descriptors skipped per SKBOX_STRICT_STREAM_MODE
// without leaking any, several threads accepting from one socket, and SKBOX_ACCEPT_STREAM.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { waitFor } from '../testkit/wait';
import { fdCount } from '../testkit/proc-fds';
import { handoverConnection } from './helpers/handover-connection';
import { DescriptorSender, writeRecordFile } from './helpers/preload-fixtures';
import { tempDir } from '../testkit/temp-dir';
import { Probe } from './helpers/preload-probe';

const AF_UNIX = 1;
const AF_INET6 = 10;

const { dir } = tempDir();
writeRecordFile(dir, 1, { 0: `${dir}/accept-_@SB_.sock`, 1: `${dir}/stream.sock` });
const addon = loadClientAddon();
let nextPort = 100;

interface Receiver {
  probe: Probe;
  socketPath: string;
  sender: DescriptorSender;
}

/** A probe with a datagram socket bound through the library at fd 3 (blocking unless asked). */
async function receiver(t: tap.Test, env: Record<string, string> = {}, nonblocking = false): Promise<Receiver> {
  const probe = await Probe.start({ SKBOX_DIRECTORY_ROOT: dir, ...env });
  const sender = new DescriptorSender();
  t.teardown(async () => {
    sender.close();
    await probe.stop();
  });
  const port = nextPort++;
  await probe.call(`socket 6 stream${nonblocking ? ' nonblock' : ''}`);
  t.match(await probe.call(`bind 3 fe8f::1:0 ${port}`), { rv: 0 });
  t.match(await probe.call('listen 3'), { rv: 0 });
  return { probe, socketPath: `${dir}/accept-${String(port).padStart(5, '0')}.sock`, sender };
}

/** A FIFO opened read-write: a pipe descriptor that never blocks its opener. */
function pipeDescriptor(name: string): number {
  const fifo = path.join(dir, name);
  execFileSync('mkfifo', [fifo]);
  return fs.openSync(fifo, 'r+');
}

/** A connected UNIX stream pair; `fd` is the client end (Node must not read it). */
async function unixStreamConnection(t: tap.Test): Promise<{ fd: number; client: net.Socket; closedByPeer: Promise<void> }> {
  const serverPath = path.join(dir, `pair-${Math.random().toString(36).slice(2)}.sock`);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(serverPath, resolve));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect({ path: serverPath });
  client.pause();
  await new Promise((resolve) => client.once('connect', resolve));
  const serverSide = await accepted;
  const closedByPeer = new Promise<void>((resolve) => serverSide.once('close', () => resolve()));
  serverSide.resume();
  t.teardown(() => {
    client.destroy();
    serverSide.destroy();
    server.close();
  });
  return { fd: (client as unknown as { _handle: { fd: number } })._handle.fd, client, closedByPeer };
}

t.test('non-blocking accept on an empty queue fails with EAGAIN', async (t) => {
  const r = await receiver(t, {}, true);
  t.match(await r.probe.call('accept 3 - 28'), { rv: -1, errno: 'EAGAIN' });
  t.match(await r.probe.call('accept 3 nc 28'), { rv: -1, errno: 'EAGAIN' });
  t.match(await r.probe.call('accept 3 plain 28'), { rv: -1, errno: 'EAGAIN' }, 'accept() as well as accept4()');

  const before = await r.probe.call('fdcount');
  const pipe = pipeDescriptor('fifo-nonblock');
  await r.sender.send([pipe], r.socketPath);
  await r.sender.send([], r.socketPath);
  fs.closeSync(pipe);
  t.match(await r.probe.call('accept 3 - 28'), { rv: -1, errno: 'EAGAIN' }, 'only invalid messages queued: still EAGAIN');
  t.same(await r.probe.call('fdcount'), before, 'the pipe was closed');

  const conn = await r.sender.handOver(r.socketPath);
  const accepted = await r.probe.call('accept 3 - 28');
  t.match(accepted, { domain: AF_INET6, port: conn.clientPort }, 'a valid connection after them is accepted');
  await r.probe.call(`close ${accepted.rv}`);
  t.equal(await conn.talk(), '');
});

t.test('accept4 flags, peer address and address buffer handling', async (t) => {
  const r = await receiver(t);
  const cases: Array<[string, boolean, boolean]> = [
    ['-', false, false],
    ['n', true, false],
    ['c', false, true],
    ['nc', true, true],
    ['plain', false, false],
  ];
  for (const [flags, nonblock, cloexec] of cases) {
    const conn = await r.sender.handOver(r.socketPath);
    const accepted = await r.probe.call(`accept 3 ${flags} 64`);
    t.match(
      accepted,
      { errnoAfter: 'MARK', nonblock, cloexec, domain: AF_INET6, family: 'inet6', addr: '::1', port: conn.clientPort, len: 28 },
      `flags '${flags}'`,
    );
    t.equal(String(accepted.raw).slice(56), 'aa'.repeat(36), 'nothing written past the 28 bytes of an IPv6 address, as without the library');
    await r.probe.call(`write ${accepted.rv} hello-${flags}`);
    await r.probe.call(`close ${accepted.rv}`);
    t.equal(await conn.talk(), `hello-${flags}\n`, 'the received descriptor is the client connection');
  }

  const conn = await r.sender.handOver(r.socketPath);
  const small = await r.probe.call('accept 3 - 8');
  t.match(small, { len: 28 }, 'a short buffer: the full length is reported, as the kernel does');
  await r.probe.call(`close ${small.rv}`);
  t.equal(await conn.talk(), '');
});

t.test('invalid descriptors are skipped in strict mode 2 and nothing leaks', async (t) => {
  const r = await receiver(t);
  t.match(await r.probe.call('serve 3 1'), { rv: 0 });
  const warmUp = await r.sender.handOver(r.socketPath);
  t.equal(await warmUp.talk(), 'served by thread 0\n');
  await r.probe.waitForEvents(1);
  const baseline = fdCount(r.probe.pid);

  const pipe = pipeDescriptor('fifo-strict2');
  const file = fs.openSync('/dev/null', 'r');
  const datagram = addon.openDatagramSocket();
  for (const fd of [pipe, file, datagram]) await r.sender.send([fd], r.socketPath);
  await r.sender.send([], r.socketPath);

  // Several descriptors in one message: the first is the connection, the others are closed.
  const conn = await handoverConnection('::1');
  const extra = await unixStreamConnection(t);
  await r.sender.send([conn.fd, pipe, extra.fd, datagram], r.socketPath);
  conn.release();
  extra.client.destroy();
  fs.closeSync(pipe);
  fs.closeSync(file);
  fs.closeSync(datagram);
  t.equal(await conn.talk(), 'served by thread 0\n', 'the first descriptor of a crowded message is served');
  await extra.closedByPeer;
  t.pass("the extra UNIX connection's peer saw it closed: the daemon kept no copy");

  const after = await r.sender.handOver(r.socketPath);
  t.equal(await after.talk(), 'served by thread 0\n', 'still serving');
  await r.probe.waitForEvents(3);
  t.equal(r.probe.events.length, 3, 'only the three TCP connections were accepted');
  t.ok(r.probe.events.every((e) => e.domain === AF_INET6 && e.family === 'inet6'), 'all of them TCP');
  await waitFor('descriptors back to baseline', () => fdCount(r.probe.pid) === baseline, 5_000).catch(() => undefined);
  t.equal(fdCount(r.probe.pid), baseline, 'no descriptor leaked');
});

t.test('SKBOX_STRICT_STREAM_MODE=0 accepts anything, =1 any stream socket', async (t) => {
  const open = await receiver(t, { SKBOX_STRICT_STREAM_MODE: '0' });
  await open.probe.call('serve 3 1');
  const pipe = pipeDescriptor('fifo-mode0');
  await open.sender.send([pipe], open.socketPath);
  fs.closeSync(pipe);
  await open.probe.waitForEvents(1);
  t.match(open.probe.events[0], { domain: -1 }, 'mode 0: a pipe is handed to the daemon');

  const streams = await receiver(t, { SKBOX_STRICT_STREAM_MODE: '1' });
  await streams.probe.call('serve 3 1');
  const pipe1 = pipeDescriptor('fifo-mode1');
  const datagram = addon.openDatagramSocket();
  const unix = await unixStreamConnection(t);
  await streams.sender.send([pipe1], streams.socketPath);
  await streams.sender.send([datagram], streams.socketPath);
  await streams.sender.send([unix.fd], streams.socketPath);
  fs.closeSync(pipe1);
  fs.closeSync(datagram);
  const conn = await streams.sender.handOver(streams.socketPath);
  t.equal(await conn.talk(), 'served by thread 0\n');
  await streams.probe.waitForEvents(2);
  t.match(
    streams.probe.events.map((e) => e.domain),
    [AF_UNIX, AF_INET6],
    'mode 1: the pipe and the datagram socket were skipped, the UNIX stream accepted',
  );
});

t.test('several threads accepting from one socket each get distinct connections', async (t) => {
  const r = await receiver(t, { SKBOX_SCHED_YIELD: '1' });
  t.match(await r.probe.call('serve 3 4'), { rv: 0 });
  const warmUp = await r.sender.handOver(r.socketPath);
  await warmUp.talk();
  await r.probe.waitForEvents(1);
  const baseline = fdCount(r.probe.pid);

  const total = 40;
  const conns = [];
  for (let i = 0; i < total; i++) conns.push(await r.sender.handOver(r.socketPath));
  const answers = await Promise.all(conns.map((c) => c.talk()));
  t.ok(answers.every((a) => /^served by thread [0-3]\n$/.test(a)), 'every connection answered once');
  await r.probe.waitForEvents(total + 1);
  t.equal(r.probe.events.length, total + 1, 'as many accepts as connections');
  const ports = new Set(r.probe.events.slice(1).map((e) => e.port));
  t.equal(ports.size, total, 'no connection accepted twice');
  await waitFor('descriptors back to baseline', () => fdCount(r.probe.pid) === baseline, 5_000).catch(() => undefined);
  t.equal(fdCount(r.probe.pid), baseline, 'no descriptor leaked');
});

t.test('SKBOX_ACCEPT_STREAM=1 receives connections over a connected UNIX stream', async (t) => {
  for (const enabled of [true, false]) {
    const probe = await Probe.start({ SKBOX_DIRECTORY_ROOT: dir, ...(enabled ? { SKBOX_ACCEPT_STREAM: '1' } : {}) });
    t.teardown(() => probe.stop());
    fs.rmSync(`${dir}/stream.sock`, { force: true });
    await probe.script(['socket 6 stream', 'bind 3 fe8f::1:1:1 80', 'listen 3']);
    const carrier = net.connect(`${dir}/stream.sock`);
    carrier.pause();
    await new Promise((resolve) => carrier.once('connect', resolve));
    const link = await probe.call('accept 3 c 28'); // the probe's end of the carrier
    t.match(link, { domain: AF_UNIX });
    const carrierFd = (carrier as unknown as { _handle: { fd: number } })._handle.fd;

    const conn = await handoverConnection('::1');
    addon.sendFds(carrierFd, [conn.fd], null, true);
    conn.release();
    const accepted = await probe.call(`accept ${link.rv} c 28`);
    if (enabled) {
      t.match(accepted, { domain: AF_INET6, port: conn.clientPort }, 'the connection arrives over the stream');
      await probe.call(`write ${accepted.rv} over-carrier`);
      await probe.call(`close ${accepted.rv}`);
      t.equal(await conn.talk(), 'over-carrier\n');
      carrier.destroy();
      t.match(await probe.call(`accept ${link.rv} c 28`), { rv: -1, errno: 'EINVAL' }, 'the carrier closed: no more connections');
    } else {
      t.match(accepted, { rv: -1, errno: 'EINVAL' }, 'without it, accept on a connected stream is the real (failing) one');
      carrier.destroy();
      conn.talk().catch(() => undefined);
    }
    await probe.stop();
  }
});

t.test('the received connection is a stream the daemon can use both ways', async (t) => {
  const r = await receiver(t);
  const conn = await r.sender.handOver(r.socketPath);
  const accepted = await r.probe.call('accept 3 c 28');
  t.match(accepted, { domain: AF_INET6 });
  const talk = conn.talk('from-client\n');
  const read = await r.probe.call(`read ${accepted.rv}`);
  t.match(read, { data: 'from-client' }, 'the daemon reads what the client wrote');
  await r.probe.call(`write ${accepted.rv} from-daemon`);
  await r.probe.call(`close ${accepted.rv}`);
  t.equal(await talk, 'from-daemon\n', 'the client reads what the daemon wrote');
  t.match(await r.probe.call(`info ${accepted.rv}`), { domain: -1 }, 'closed');
});
