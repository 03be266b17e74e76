// What a receiver does with descriptors it should not use (docs/wire-protocol.md): a datagram socket, a
// pipe, a message without descriptors, several descriptors in one message, more than fit in
// the receive buffer. The invalid and extra ones are closed (the inetd's /proc/PID/fd returns
// to its baseline; an extra connection's peer sees it close) and serving goes on.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { handoverConnection } from './helpers/handover-connection';
import { startInetd, type InetdProcess } from './helpers/inetd-process';
import { tempDir } from '../testkit/temp-dir';
import { sleep, waitFor } from '../testkit/wait';
import { openFds } from '../testkit/proc-fds';
import { childrenOf } from '../testkit/proc-stat';

const addon = loadClientAddon();

/** A FIFO opened read-write: a pipe descriptor that never blocks its opener. */
function pipeDescriptor(dir: string, name: string): { fd: number; fifo: string } {
  const fifo = path.join(dir, name);
  execFileSync('mkfifo', [fifo]);
  return { fd: fs.openSync(fifo, 'r+'), fifo };
}

/** A UNIX stream connection to a test server; resolves `closedByAll` once every copy of the
 *  client descriptor (ours and whoever we sent it to) is closed. */
async function unixStreamConnection(dir: string): Promise<{ fd: number; release(): void; closedByAll: Promise<void> }> {
  const serverPath = path.join(dir, `stream-${Math.random().toString(36).slice(2)}.sock`);
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(serverPath, () => resolve()));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect({ path: serverPath, allowHalfOpen: true });
  client.pause(); // its descriptor travels; this process must not read from it
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const serverSide = await accepted;
  serverSide.resume();
  const closedByAll = new Promise<void>((resolve) =>
    serverSide.once('end', () => {
      serverSide.destroy();
      server.close();
      resolve();
    }),
  );
  const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
  return { fd, release: () => client.destroy(), closedByAll };
}

interface Fixture {
  dir: string;
  inetd: InetdProcess;
  sender: number;
  baseline: number[];
  send(fds: number[]): Promise<void>;
  /** A real connection handed over by hand still echoes through cat. */
  stillServes(t: Test, label: string): Promise<void>;
  backToBaseline(t: Test, label: string): Promise<void>;
}

async function fixture(t: Test, env: NodeJS.ProcessEnv = process.env, program = ['cat']): Promise<Fixture> {
  const tmp = tempDir();
  const socketPath = path.join(tmp.dir, 'validate.sock');
  const inetd = await startInetd(socketPath, program, env);
  const sender = addon.openDatagramSocket();
  t.teardown(async () => {
    fs.closeSync(sender);
    await inetd.stop();
    tmp.remove();
  });
  // Never block this process in a send: the inetd may be waiting for us to read its stderr.
  const send = async (fds: number[]) => {
    while (!addon.sendFds(sender, fds, socketPath, false)) await sleep(2);
  };
  const stillServes = async (t: Test, label: string) => {
    const conn = await handoverConnection();
    await send([conn.fd]);
    conn.release();
    t.equal(await conn.talk(`${label}\n`), `${label}\n`, `still serving after ${label}`);
  };
  const f: Fixture = {
    dir: tmp.dir,
    inetd,
    sender,
    baseline: [],
    send,
    stillServes,
    backToBaseline: async (t, label) => {
      await waitFor('children to exit', () => childrenOf(inetd.pid).length === 0);
      // A rejected descriptor is closed in the same event-loop turn it arrives in; give the
      // inetd a moment to get there, then require the exact baseline.
      await waitFor(`inetd fds back to baseline after ${label}`, () => {
        return JSON.stringify(openFds(inetd.pid)) === JSON.stringify(f.baseline);
      }, 5_000).catch(() => {});
      t.same(openFds(inetd.pid), f.baseline, `no descriptor kept after ${label}`);
    },
  };
  await stillServes(t, 'warm-up');
  await waitFor('children to exit', () => childrenOf(inetd.pid).length === 0);
  f.baseline = openFds(inetd.pid);
  return f;
}

t.test('default mode (2) rejects a pipe and a datagram socket, ignores an empty message', async (t) => {
  const f = await fixture(t);
  const pipe = pipeDescriptor(f.dir, 'fifo');
  await f.send([pipe.fd]);
  fs.closeSync(pipe.fd);
  await f.stillServes(t, 'a pipe');
  await f.backToBaseline(t, 'a pipe');

  const datagram = addon.openDatagramSocket();
  await f.send([datagram]);
  fs.closeSync(datagram);
  await f.stillServes(t, 'a datagram socket');
  await f.backToBaseline(t, 'a datagram socket');

  await f.send([]);
  await f.stillServes(t, 'a message without descriptors');
  await f.backToBaseline(t, 'a message without descriptors');
  t.match(f.inetd.stderr(), /failed SKBOX_STRICT_STREAM_MODE validation/);
});

t.test('several descriptors in one message: the first is served, the others closed', async (t) => {
  const f = await fixture(t);
  const conn = await handoverConnection();
  const extra = await unixStreamConnection(f.dir);
  const pipe = pipeDescriptor(f.dir, 'fifo-extra');
  await f.send([conn.fd, extra.fd, pipe.fd]);
  conn.release();
  extra.release();
  fs.closeSync(pipe.fd);
  t.equal(await conn.talk('first one\n'), 'first one\n', 'the first descriptor is the connection served');
  await extra.closedByAll;
  t.pass("the extra connection's peer saw it closed: the inetd kept no copy");
  await f.backToBaseline(t, 'three descriptors in one message');
  t.match(f.inetd.stderr(), /closed 2 extra descriptor/);
  await f.stillServes(t, 'several descriptors');
});

t.test('more descriptors than fit (MSG_CTRUNC): the first is served, nothing leaks', async (t) => {
  const f = await fixture(t);
  const conn = await handoverConnection();
  const pipe = pipeDescriptor(f.dir, 'fifo-many');
  await f.send([conn.fd, ...Array<number>(39).fill(pipe.fd)]);
  conn.release();
  fs.closeSync(pipe.fd);
  t.equal(await conn.talk('among forty\n'), 'among forty\n');
  await f.backToBaseline(t, 'forty descriptors in one message');
  t.match(f.inetd.stderr(), /did not fit .*and were dropped/);
  await f.stillServes(t, 'forty descriptors');
});

t.test('a flood of invalid messages leaves the inetd serving', async (t) => {
  const f = await fixture(t);
  const pipe = pipeDescriptor(f.dir, 'fifo-flood');
  for (let i = 0; i < 200; i++) await f.send([pipe.fd, pipe.fd]);
  fs.closeSync(pipe.fd);
  await f.stillServes(t, '200 invalid messages');
  await f.backToBaseline(t, '200 invalid messages');
});

t.test('SKBOX_STRICT_STREAM_MODE=0 passes a pipe on; =1 does not', async (t) => {
  // The program echoes TCP connections, and reports when its stdin is a FIFO instead.
  const program = ['sh', '-c', 'if [ -p /dev/stdin ]; then echo "stdin is a FIFO"; else exec cat; fi'];
  const open = await fixture(t, { ...process.env, SKBOX_STRICT_STREAM_MODE: '0' }, program);
  const pipe = pipeDescriptor(open.dir, 'fifo-mode0');
  const reader = fs.openSync(pipe.fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(reader));
  await open.send([pipe.fd]);
  fs.closeSync(pipe.fd);
  const buffer = Buffer.alloc(64);
  let written = '';
  await waitFor('the program to write into the FIFO', () => {
    try {
      written += buffer.subarray(0, fs.readSync(reader, buffer)).toString();
    } catch {
      /* EAGAIN: nothing yet */
    }
    return written.includes('\n');
  });
  t.equal(written, 'stdin is a FIFO\n', 'mode 0 ran the program on the pipe');
  await open.backToBaseline(t, 'a pipe in mode 0');

  const strict1 = await fixture(t, { ...process.env, SKBOX_STRICT_STREAM_MODE: '1' });
  const pipe1 = pipeDescriptor(strict1.dir, 'fifo-mode1');
  await strict1.send([pipe1.fd]);
  fs.closeSync(pipe1.fd);
  await strict1.stillServes(t, 'a pipe in mode 1');
  await strict1.backToBaseline(t, 'a pipe in mode 1');
  t.match(strict1.inetd.stderr(), /failed SKBOX_STRICT_STREAM_MODE validation/);
});
