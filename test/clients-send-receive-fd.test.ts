// send-receive-fd: -r receives one descriptor and execs a program that finds it in
// SKBOX_RECEIVED_FD (inheritable, default signal handling, nothing else added); -s sends one.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { handoverConnection } from './helpers/handover-connection';
import { exited } from './helpers/inetd-process';
import { binPath } from '../testkit/project-root';
import { tempDir } from '../testkit/temp-dir';
import { sleep, waitFor } from '../testkit/wait';
import { openFds } from '../testkit/proc-fds';
import { waitForExec } from '../testkit/proc-exec';
import { statusField } from '../testkit/proc-status';

const addon = loadClientAddon();

/** Runs `send-receive-fd -r 3 PROGRAM...` with a datagram socket bound at a path as fd 3. */
function receiver(dir: string, program: string[], stdin: 'ignore' | 'pipe' = 'ignore') {
  const socketPath = path.join(dir, 'receive.sock');
  const socket = addon.bindDatagramSocket(socketPath);
  const child = spawn(binPath('send-receive-fd'), ['-r', '3', ...program], {
    stdio: [stdin, 'pipe', 'pipe', socket],
  });
  fs.closeSync(socket);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const done = exited(child).then((r) => ({ ...r, stdout, stderr }));
  return { socketPath, child, done };
}

/** Sends a fresh loopback TCP connection to socketPath; returns the client side. */
async function sendConnection(t: Test, socketPath: string) {
  const conn = await handoverConnection();
  const sender = addon.openDatagramSocket();
  t.teardown(() => fs.closeSync(sender));
  addon.sendFds(sender, [conn.fd], socketPath, true);
  conn.release();
  return conn;
}

// The exec'd program is `cat` waiting on a pipe, inspected from outside through /proc: a
// shell looking at itself would see its own fork-time state (pipes, all signals blocked).
t.test('-r: the exec\'d program gets SKBOX_RECEIVED_FD, default signals, nothing extra', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const r = receiver(tmp.dir, ['cat'], 'pipe');
  const conn = await sendConnection(t, r.socketPath);
  const pid = r.child.pid!;
  await waitForExec(pid, 'cat', { sleeping: true });
  // The exe link changes a moment before the new environment is in place.
  let received: string | undefined;
  await waitFor('SKBOX_RECEIVED_FD in the environment', () => {
    received = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((e) => e.startsWith('SKBOX_RECEIVED_FD='));
    return received !== undefined;
  });
  const fd = Number(received!.split('=')[1]);
  t.ok(fd > 3, `SKBOX_RECEIVED_FD=${fd}`);
  // Exactly stdio, the socket FD (kept open as in the original) and the received fd:
  // nothing this process inherited or opened leaks into the program.
  t.same(openFds(pid), [0, 1, 2, 3, fd].sort((a, b) => a - b), 'stdio, the socket FD and the received fd, nothing else');
  t.equal(statusField(pid, 'SigBlk'), '0000000000000000', 'no signal blocked');
  t.equal(statusField(pid, 'SigIgn'), '0000000000000000', 'no signal ignored (Node ignores SIGPIPE; exec must not pass that on)');
  const flags = /^flags:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1];
  t.equal(Number.parseInt(flags, 8) & 0o4000, 0, `the sender's O_NONBLOCK was cleared (flags ${flags})`);
  t.ok(fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:'), 'it is the socket');
  r.child.stdin!.end();
  t.equal((await r.done).code, 0);
  t.equal(await conn.talk(), '', 'closed once cat, its last holder, exited');
});

t.test('-r: the received descriptor is the live connection', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const script = [
    `${binPath('socket-query')} -f "$SKBOX_RECEIVED_FD"`,
    `node -e 'require("fs").writeSync(Number(process.env.SKBOX_RECEIVED_FD), "via the received fd\\n")'`,
  ].join('; ');
  const r = receiver(tmp.dir, ['sh', '-c', script]);
  const conn = await sendConnection(t, r.socketPath);
  const result = await r.done;
  t.equal(result.code, 0, result.stderr);
  const loop = '0000:0000:0000:0000:0000:0000:0000:0001';
  t.equal(result.stdout, `[${loop}]:${conn.serverPort} [${loop}]:${conn.clientPort}\n`);
  t.equal(await conn.talk(), 'via the received fd\n', 'written through SKBOX_RECEIVED_FD');
});

t.test('-r skips an invalid descriptor and takes the next valid one', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const r = receiver(tmp.dir, ['sh', '-c', 'echo "got $SKBOX_RECEIVED_FD"']);
  const sender = addon.openDatagramSocket();
  t.teardown(() => fs.closeSync(sender));
  const file = fs.openSync(__filename, 'r');
  addon.sendFds(sender, [file], r.socketPath, true);
  fs.closeSync(file);
  await sleep(100);
  const conn = await handoverConnection();
  addon.sendFds(sender, [conn.fd], r.socketPath, true);
  conn.release();
  const result = await r.done;
  t.equal(result.code, 0);
  t.match(result.stdout, /^got \d+\n$/);
  t.match(result.stderr, /failed SKBOX_STRICT_STREAM_MODE validation/);
  t.equal(await conn.talk(), '', 'the connection was handed on (and closed when sh exited)');
});

t.test('-r exits 1 when the socket peer closes before sending anything', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const serverPath = path.join(tmp.dir, 'stream.sock');
  const server = net.createServer((s) => s.end());
  await new Promise<void>((resolve) => server.listen(serverPath, () => resolve()));
  t.teardown(() => server.close());
  const client = net.connect(serverPath);
  client.pause();
  await new Promise((resolve) => client.once('connect', resolve));
  const child = spawn(binPath('send-receive-fd'), ['-r', '3', 'true'], { stdio: ['ignore', 'ignore', 'pipe', client] });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  client.destroy();
  const { code } = await exited(child);
  t.equal(code, 1);
  t.match(stderr, /closed before sending a descriptor/);
});

t.test('-r: a program that cannot be found exits 127', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const r = receiver(tmp.dir, ['no-such-program-skbox']);
  const conn = await handoverConnection();
  const sender = addon.openDatagramSocket();
  t.teardown(() => fs.closeSync(sender));
  addon.sendFds(sender, [conn.fd], r.socketPath, true);
  conn.release();
  const result = await r.done;
  t.equal(result.code, 127);
  t.match(result.stderr, /no-such-program-skbox/);
});

t.test('-s sends a descriptor over a socket', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const file = path.join(tmp.dir, 'payload.txt');
  fs.writeFileSync(file, 'the sent file');
  const serverPath = path.join(tmp.dir, 'collect.sock');
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(serverPath, () => resolve()));
  t.teardown(() => server.close());
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(serverPath);
  client.pause();
  await new Promise((resolve) => client.once('connect', resolve));
  const serverSide = await accepted;
  t.teardown(() => serverSide.destroy());

  const toSend = fs.openSync(file, 'r');
  const child = spawn(binPath('send-receive-fd'), ['-s', '4', '3'], { stdio: ['ignore', 'ignore', 'pipe', client, toSend] });
  fs.closeSync(toSend);
  client.destroy();
  const { code } = await exited(child);
  t.equal(code, 0);

  const fd = (serverSide as unknown as { _handle: { fd: number } })._handle.fd;
  const received = addon.receiveFd(fd, 0, false);
  t.equal(received.status, 'fd');
  t.equal(fs.readFileSync(received.fd, 'utf8'), 'the sent file', 'the very file arrived');
  fs.closeSync(received.fd);
});

t.test('usage errors exit 2', async (t) => {
  for (const args of [[], ['-r'], ['-r', 'x', 'true'], ['-r', '3'], ['-s', '4'], ['-s', '4', '3', '5'], ['-r', '-s', '4', '3'], ['-q']]) {
    const r = spawnSync(binPath('send-receive-fd'), args, { encoding: 'utf8' });
    t.equal(r.status, 2, JSON.stringify(args));
    t.match(r.stderr, /Usage: send-receive-fd -r FD PROGRAM/);
  }
  const r = spawnSync(binPath('send-receive-fd'), ['-s', '0', '99'], { encoding: 'utf8' });
  t.equal(r.status, 1, 'sending over a descriptor that is not open fails with 1');
  t.match(r.stderr, /sendmsg/);
});
