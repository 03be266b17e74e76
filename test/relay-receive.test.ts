// How connections reach socketbox-relay besides -s: an inherited listening socket (-l FD),
// an inherited receiving socket (-l FD -e), and what happens to descriptors that are not
// connections (SKBOX_STRICT_STREAM_MODE) or come in extra.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { sleep, waitFor } from '../testkit/wait';
import { fdTargets } from '../testkit/proc-fds';
import { waitForListening } from '../testkit/proc-tcp';
import { startEchoBackend } from './helpers/relay-backends';
import { relayExchange } from './helpers/relay-client';
import { exited, relayBin, startRelay, startRelayOnListener, startSocketbox } from './helpers/relay-process';
import { tempDir } from '../testkit/temp-dir';
import { handoverConnection } from './helpers/handover-connection';
import { unixPair } from './helpers/relay-unix-pair';

const addon = loadClientAddon();
const FRONT_PORT = 8080;
const BACKEND_PORT = 9000;

async function echo(t: Test): Promise<ReturnType<typeof startEchoBackend> extends Promise<infer B> ? B : never> {
  const backend = await startEchoBackend('::1', BACKEND_PORT);
  t.teardown(backend.close);
  return backend;
}

/** Sends fds as socketbox does: one datagram, payload "\0", SCM_RIGHTS. */
function send(path: string, fds: number[]): void {
  const sock = addon.openDatagramSocket();
  try {
    addon.sendFds(sock, fds, path, true);
  } finally {
    fs.closeSync(sock);
  }
}

t.test('-l FD: accepts on an inherited listening socket directly', async (t) => {
  await echo(t);
  const relay = await startRelayOnListener('::', FRONT_PORT, ['-p', String(BACKEND_PORT)]);
  t.teardown(relay.stop);
  await waitForListening(FRONT_PORT);
  const r = await relayExchange({ host: '2001:db8::5', port: FRONT_PORT, input: 'accepted directly' });
  t.equal(r.output.toString(), 'accepted directly');
  await waitFor('the log line', () => /-> \[2001:db8::5\]:8080$/m.test(relay.stderr()));
});

t.test('-l FD -e: receives on an inherited datagram socket, fed by socketbox', async (t) => {
  await echo(t);
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const socketPath = path.join(tmp.dir, 'inherited.sock');
  const fd = addon.bindDatagramSocket(socketPath);
  const child = spawn(relayBin, ['-l', '3', '-e', '-q', '-p', String(BACKEND_PORT)], { stdio: ['ignore', 'ignore', 'inherit', fd] });
  fs.closeSync(fd);
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited(child);
  });
  const sb = await startSocketbox(socketPath, FRONT_PORT);
  t.teardown(() => sb.stop());
  const r = await relayExchange({ host: '2001:db8::6', port: FRONT_PORT, input: 'via an inherited receiver' });
  t.equal(r.output.toString(), 'via an inherited receiver');
});

t.test('-l FD -e on a stream socket: the relay stops (status 0) when the sender goes away', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const pair = await unixPair(path.join(tmp.dir, 'sender.sock'));
  let stderr = '';
  const child = spawn(relayBin, ['-l', '3', '-e'], { stdio: ['ignore', 'ignore', 'pipe', pair.farFd] });
  child.stderr!.on('data', (c) => (stderr += c));
  pair.far.destroy();
  await sleep(300);
  t.equal(child.exitCode, null, 'running while the sender is there');
  pair.near.destroy();
  t.equal(await exited(child), 0);
  t.match(stderr, /the sender closed the receiving socket; stopping/);
});

t.test('received descriptors: non-sockets rejected by default, extras closed, mode 0 takes anything', async (t) => {
  const backend = await echo(t);
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const socketPath = path.join(tmp.dir, 'relay.sock');
  const relay = await startRelay(socketPath, ['-p', String(BACKEND_PORT)]);
  t.teardown(relay.stop);

  const [pipeRead] = pipe();
  send(socketPath, [pipeRead]);
  await waitFor('the rejection in the log', () => /not an acceptable connection \(SKBOX_STRICT_STREAM_MODE\): closed/.test(relay.stderr()));
  t.equal(backend.accepted(), 0, 'a pipe is not a connection: nothing relayed');
  t.notMatch(relay.stderr(), /->/, 'no connection logged');
  t.notOk(holds(relay.pid, pipeRead), 'the relay did not keep it');

  const conn = await handoverConnection('::1');
  const [extraRead] = pipe();
  send(socketPath, [conn.fd, extraRead]);
  conn.release();
  t.equal(await conn.talk('first one relayed'), 'first one relayed');
  t.notOk(holds(relay.pid, extraRead), 'the extra descriptor was closed');
  await waitFor('the extra in the log', () => /extra descriptors in a message: closed/.test(relay.stderr()));
  await relay.stop();

  // Mode 0: even the read end of a pipe is relayed (what the test writes reaches the backend).
  const lax = await startRelay(socketPath, ['-p', String(BACKEND_PORT)], { ...process.env, SKBOX_STRICT_STREAM_MODE: '0' });
  t.teardown(lax.stop);
  const [laxRead, laxWrite] = pipe();
  const received = new Promise<string>((resolve) => {
    backend.server.once('connection', (s) => {
      let text = '';
      s.on('data', (c: Buffer) => (text += c.toString()));
      s.on('end', () => resolve(text));
    });
  });
  send(socketPath, [laxRead]);
  fs.closeSync(laxRead);
  fs.writeSync(laxWrite, 'through a pipe');
  fs.closeSync(laxWrite);
  t.equal(await received, 'through a pipe');
});

const fifoDir = tempDir('skbox-relay-fifo-');
t.teardown(fifoDir.remove);
let fifoCount = 0;
/** A pipe as [read end, write end] (a FIFO: Node has no pipe()); not a socket. */
function pipe(): [number, number] {
  const fifo = path.join(fifoDir.dir, `fifo${fifoCount++}`);
  execFileSync('mkfifo', [fifo]);
  const read = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const write = fs.openSync(fifo, fs.constants.O_WRONLY);
  return [read, write];
}

function holds(pid: number, fdInTest: number): boolean {
  const target = fs.readlinkSync(`/proc/self/fd/${fdInTest}`);
  return [...fdTargets(pid).values()].includes(target);
}
