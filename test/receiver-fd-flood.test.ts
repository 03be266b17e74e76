/**
 * One message carrying 250 descriptors (SCM_RIGHTS, sent by helpers/fd_flood.py)
 * to every receiver in the tree: socketbox-inetd, the LD_PRELOAD
 * library's accept(), socketbox-relay -s and send-receive-fd -r. Twice each:
 * once with a real connection first (it must be served) and once with a pipe
 * first (it must be refused). Either way every other descriptor is closed —
 * fd_flood.py sees the far end of each socketpair and pipe it sent go away —
 * the receiver keeps serving, and its /proc/PID/fd is back to its baseline.
 */
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { Test } from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { waitFor } from '../testkit/wait';
import { openFds } from '../testkit/proc-fds';
import { waitForExec } from '../testkit/proc-exec';
import { childrenOf } from '../testkit/proc-stat';
import { heldTcpConnections } from '../testkit/proc-tcp';
import { handoverConnection, HandoverConnection } from './helpers/handover-connection';
import { startInetd } from './helpers/inetd-process';
import { binPath } from '../testkit/project-root';
import { tempDir } from '../testkit/temp-dir';
import { DescriptorSender, writeRecordFile } from './helpers/preload-fixtures';
import { Probe } from './helpers/preload-probe';
import { startEchoBackend } from './helpers/relay-backends';
import { startRelay } from './helpers/relay-process';

const FLOOD = path.join(__dirname, 'helpers', 'fd_flood.py');
const COUNT = 250;
const addon = loadClientAddon();
const tmp = tempDir('skbox-flood-');
t.teardown(tmp.remove);

interface FloodReport {
  sent: number;
  watched: number;
  closed: number;
  open: string[];
}

/** Sends COUNT descriptors in one message to socketPath; `first` (a real connection) leads when given. */
function flood(socketPath: string, first?: number): Promise<FloodReport> {
  const args = [FLOOD, socketPath, String(COUNT), ...(first === undefined ? [] : ['--first-fd', '3'])];
  const child = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe', ...(first === undefined ? [] : [first])] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`fd_flood.py exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as FloodReport);
    }),
  );
}

/** Every descriptor fd_flood.py can watch was closed by the receiver (or the kernel, when it did not fit). */
function allClosed(t: Test, report: FloodReport, label: string): void {
  t.equal(report.sent, COUNT, `${label}: ${COUNT} descriptors in one message`);
  t.same(report.open, [], `${label}: no copy of the ${report.watched} watched extras is left open (${report.closed} closed)`);
}

/** Waits for pid's descriptors to equal baseline, then asserts it (reporting the difference). */
async function backToBaseline(t: Test, pid: number, baseline: number[], label: string): Promise<void> {
  const same = () => JSON.stringify(openFds(pid)) === JSON.stringify(baseline);
  await waitFor(`${label}: descriptors back to the baseline`, same, 5000).catch(() => undefined);
  const now = openFds(pid);
  t.same(now, baseline, `${label}: /proc/${pid}/fd back to its baseline (${baseline.length})`);
}

/** pid's descriptors once the last connection is gone and the list stays the same for 300 ms:
 *  a receiver tidies up (backend socket, pipes) a moment after its client saw the close. */
async function settledFds(pid: number): Promise<number[]> {
  const deadline = Date.now() + 10_000;
  let previous = '';
  for (;;) {
    const now = JSON.stringify(openFds(pid));
    if (now === previous && heldTcpConnections(pid) === 0) return JSON.parse(now) as number[];
    if (Date.now() > deadline) throw new Error(`descriptors of ${pid} did not settle: ${now}`);
    previous = now;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A connection handed to the flood as its first descriptor; our copy of the server side is released. */
async function floodWithConnection(socketPath: string): Promise<{ conn: HandoverConnection; report: Promise<FloodReport> }> {
  const conn = await handoverConnection('::1');
  const report = flood(socketPath, conn.fd);
  // spawn() returns after the exec: the flooder holds its own copy, ours must not keep the connection open.
  conn.release();
  return { conn, report };
}

t.test('socketbox-inetd', async (t) => {
  const socketPath = path.join(tmp.dir, 'inetd.sock');
  const inetd = await startInetd(socketPath, ['cat']);
  t.teardown(inetd.stop);
  const sender = new DescriptorSender();
  t.teardown(() => sender.close());
  const served = async (label: string) => {
    const conn = await sender.handOver(socketPath);
    t.equal(await conn.talk(`${label}\n`), `${label}\n`, `${label}: a real connection is served`);
  };
  const idle = () => waitFor('cat children to exit', () => childrenOf(inetd.pid).length === 0);
  await served('warm-up');
  await idle();
  const baseline = await settledFds(inetd.pid);

  const withConn = await floodWithConnection(socketPath);
  t.equal(await withConn.conn.talk('first of 250\n'), 'first of 250\n', 'the connection leading 250 descriptors is served');
  allClosed(t, await withConn.report, 'connection first');
  await idle();
  await backToBaseline(t, inetd.pid, baseline, 'connection first');

  allClosed(t, await flood(socketPath), 'pipe first');
  await served('after 250 junk descriptors');
  await idle();
  await backToBaseline(t, inetd.pid, baseline, 'pipe first');
  t.equal(inetd.child.exitCode, null, 'the inetd is still running');
  t.comment(`inetd stderr: ${inetd.stderr().trim().split('\n').join(' | ')}`);
});

t.test('libsocketbox-preload accept()', async (t) => {
  const dir = path.join(tmp.dir, 'preload');
  fs.mkdirSync(dir);
  writeRecordFile(dir, 1, { 0: `${dir}/accept-_@SB_.sock` });
  const probe = await Probe.start({ SKBOX_DIRECTORY_ROOT: dir });
  t.teardown(() => probe.stop());
  t.match(await probe.call('socket 6 stream'), { rv: 3 });
  t.match(await probe.call('bind 3 fe8f::1:0 100'), { rv: 0 });
  t.match(await probe.call('listen 3'), { rv: 0 });
  t.match(await probe.call('serve 3 1'), { rv: 0 }); // a thread accepting and greeting forever
  const socketPath = `${dir}/accept-00100.sock`;
  const sender = new DescriptorSender();
  t.teardown(() => sender.close());
  const served = async (label: string) => {
    const conn = await sender.handOver(socketPath);
    t.equal(await conn.talk(), 'served by thread 0\n', `${label}: a real connection is served`);
  };
  await served('warm-up');
  await probe.waitForEvents(1);
  const baseline = await settledFds(probe.pid);

  const withConn = await floodWithConnection(socketPath);
  t.equal(await withConn.conn.talk(), 'served by thread 0\n', 'the connection leading 250 descriptors is accepted');
  allClosed(t, await withConn.report, 'connection first');
  await backToBaseline(t, probe.pid, baseline, 'connection first');

  allClosed(t, await flood(socketPath), 'pipe first');
  await served('after 250 junk descriptors');
  await probe.waitForEvents(3);
  t.equal(probe.events.length, 3, 'accept() returned only the three real connections');
  await backToBaseline(t, probe.pid, baseline, 'pipe first');
});

t.test('socketbox-relay -s', async (t) => {
  const backend = await startEchoBackend('::1');
  t.teardown(backend.close);
  const socketPath = path.join(tmp.dir, 'relay.sock');
  const relay = await startRelay(socketPath, ['-p', String(backend.port)]);
  t.teardown(relay.stop);
  const sender = new DescriptorSender();
  t.teardown(() => sender.close());
  const served = async (label: string) => {
    const conn = await sender.handOver(socketPath);
    t.equal(await conn.talk(`${label}\n`), `${label}\n`, `${label}: a real connection is relayed`);
  };
  await served('warm-up');
  const baseline = await settledFds(relay.pid);

  const withConn = await floodWithConnection(socketPath);
  t.equal(await withConn.conn.talk('first of 250\n'), 'first of 250\n', 'the connection leading 250 descriptors is relayed');
  allClosed(t, await withConn.report, 'connection first');
  await backToBaseline(t, relay.pid, baseline, 'connection first');

  allClosed(t, await flood(socketPath), 'pipe first');
  await served('after 250 junk descriptors');
  await backToBaseline(t, relay.pid, baseline, 'pipe first');
  t.equal(backend.accepted(), 3, 'the backend saw only the three real connections');
  t.equal(relay.child.exitCode, null, 'the relay is still running');
});

t.test('send-receive-fd -r', async (t) => {
  const socketPath = path.join(tmp.dir, 'receive.sock');
  const socket = addon.bindDatagramSocket(socketPath);
  // The program echoes through the received connection: `cat` with it as stdin and stdout
  // (bash: dash cannot redirect from descriptors above 9).
  const program = ['bash', '-c', 'exec cat <&"$SKBOX_RECEIVED_FD" >&"$SKBOX_RECEIVED_FD"'];
  const child = spawn(binPath('send-receive-fd'), ['-r', '3', ...program], { stdio: ['ignore', 'ignore', 'pipe', socket] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  fs.closeSync(socket);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  t.teardown(() => void child.kill('SIGKILL'));
  await waitFor('send-receive-fd to block in poll() for a descriptor', () => blockedInPoll(child.pid!), 15_000);
  const baseline = openFds(child.pid!);

  // A pipe first: refused, the other 249 closed, and it keeps waiting.
  allClosed(t, await flood(socketPath), 'pipe first');
  await backToBaseline(t, child.pid!, baseline, 'pipe first');
  t.equal(child.exitCode, null, 'still waiting for a connection');

  // A connection first: it is exec'd with stdio, the socket and the connection, nothing more.
  const withConn = await floodWithConnection(socketPath);
  allClosed(t, await withConn.report, 'connection first');
  await waitForExec(child.pid!, 'cat', { sleeping: true });
  const received = Number(
    await waitForValue(() =>
      fs.readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('SKBOX_RECEIVED_FD='))?.split('=')[1],
    ),
  );
  t.same(openFds(child.pid!), [0, 1, 2, 3, received].sort((a, b) => a - b), `the exec'd program holds stdio, the socket and SKBOX_RECEIVED_FD=${received}, nothing else`);
  t.equal(await withConn.conn.talk('first of 250\n'), 'first of 250\n', 'the connection leading 250 descriptors is the one handed on');
  t.equal(await exited, 0, 'the program ended when the client did');
  t.match(stderr, /failed SKBOX_STRICT_STREAM_MODE validation/, 'the refused pipe was reported');
});

async function waitForValue<T>(read: () => T | undefined): Promise<T> {
  let value: T | undefined;
  await waitFor('a value', () => (value = read()) !== undefined);
  return value as T;
}

/** True while pid's main thread sleeps in poll(2): send-receive-fd waiting for a descriptor,
 *  its start-up (and every descriptor it opens) behind it. Node's own loop would be in epoll. */
function blockedInPoll(pid: number): boolean {
  try {
    return /poll_schedule_timeout|do_poll|do_sys_poll/.test(fs.readFileSync(`/proc/${pid}/wchan`, 'utf8'));
  } catch {
    return false;
  }
}
