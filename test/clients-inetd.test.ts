// socketbox-inetd end to end, fed by the test's own TCP-to-UNIX sender (what `socketbox -S`
// does): data flows, programs see the right addresses, get only fds 0-2 in a new session,
// and start-up checks (usage, socket file handling) behave.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { startInetd } from './helpers/inetd-process';
import { binPath } from '../testkit/project-root';
import { tempDir } from '../testkit/temp-dir';
import { startTcpToUnixSender } from './helpers/tcp-to-unix-sender';
import { sleep, waitFor } from '../testkit/wait';
import { childrenOf } from '../testkit/proc-stat';
import { exchange } from './helpers/tcp-client';

const addon = loadClientAddon();
const LOOPBACK_GROUPS = '0000:0000:0000:0000:0000:0000:0000:0001';

/** Runs PROGRAM behind inetd + sender for the duration of body. */
async function withInetd(
  t: Test,
  program: string[],
  body: (port: number, inetd: Awaited<ReturnType<typeof startInetd>>) => Promise<void>,
  socketName = 'inetd.sock',
): Promise<void> {
  const tmp = tempDir();
  const socketPath = socketName.startsWith('@') ? socketName : path.join(tmp.dir, socketName);
  const inetd = await startInetd(socketPath, program);
  const sender = await startTcpToUnixSender(socketPath);
  try {
    await body(sender.port, inetd);
  } finally {
    await sender.close();
    await inetd.stop();
    tmp.remove();
  }
}

t.test('echo through cat: data flows both ways, large and small', async (t) => {
  await withInetd(t, ['cat'], async (port) => {
    t.equal((await exchange(port, 'hello\n')).output, 'hello\n');
    const big = 'x'.repeat(300_000) + '\n';
    t.equal((await exchange(port, big)).output, big, '300 kB comes back intact');
  });
});

t.test('a program running socket-query sees the connection addresses', async (t) => {
  const q = binPath('socket-query');
  const script = `${q}; ${q} -l; ${q} -la; ${q} -lp; ${q} -r; ${q} -ra; ${q} -rp; ${q} -R; ${q} -rpR`;
  await withInetd(t, ['sh', '-c', script], async (port) => {
    const { output, localPort } = await exchange(port);
    const hexPort = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
    const rawAddress = '00000000000000000000000000000001';
    t.same(output.split('\n'), [
      `[${LOOPBACK_GROUPS}]:${port} [${LOOPBACK_GROUPS}]:${localPort}`,
      `[${LOOPBACK_GROUPS}]:${port}`,
      LOOPBACK_GROUPS,
      String(port),
      `[${LOOPBACK_GROUPS}]:${localPort}`,
      LOOPBACK_GROUPS,
      String(localPort),
      `${rawAddress}:${hexPort(port)} ${rawAddress}:${hexPort(localPort)}`,
      hexPort(localPort),
      '',
    ]);
  });
});

t.test('the program gets only fds 0, 1, 2, in a new session, with stderr inherited', async (t) => {
  const script = 'ls /proc/$$/fd; echo "pid=$$ sid=$(cut -d" " -f6 /proc/$$/stat)"; echo child-stderr >&2';
  await withInetd(t, ['sh', '-c', script], async (port, inetd) => {
    const lines = (await exchange(port)).output.trim().split('\n');
    t.same(lines.slice(0, -1), ['0', '1', '2'], 'no descriptor but stdin, stdout, stderr');
    const ids = /^pid=(\d+) sid=(\d+)$/.exec(lines[lines.length - 1]);
    t.ok(ids, 'pid and session printed');
    t.equal(ids![1], ids![2], 'the program leads its own session');
    t.match(inetd.stderr(), /child-stderr/, "the program's stderr is inetd's");
  });
});

t.test('the program starts with default signal handling', async (t) => {
  await withInetd(t, ['cat'], async (port, inetd) => {
    const socket = net.connect(port, '::1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let pid = 0;
    await waitFor('cat to start', () => {
      const child = childrenOf(inetd.pid)[0];
      if (!child) return false;
      pid = child.pid;
      return fs.readlinkSync(`/proc/${pid}/exe`).endsWith('/cat');
    });
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => BigInt('0x' + new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)![1]);
    const SIGPIPE = 13n;
    const GLIBC_INTERNAL = (1n << 31n) | (1n << 32n); // signals 32 and 33, see session_spawn.h
    t.equal(field('SigBlk'), 0n, 'no signal blocked');
    t.equal(field('SigIgn') & ~GLIBC_INTERNAL, 0n, 'no signal ignored (Node ignores SIGPIPE)');
    t.equal(field('SigIgn') & (1n << (SIGPIPE - 1n)), 0n, 'SIGPIPE in particular');
    socket.end();
    await new Promise((resolve) => socket.once('close', resolve));
  });
});

t.test('the connection is blocking for the program, whatever the sender accepted it as', async (t) => {
  // The sender (Node here, socketbox's accept4 too) accepts with O_NONBLOCK, a flag of the
  // open file that travels with the descriptor; cat would fail with EAGAIN on it.
  const script = 'sed -n "s/^flags:\\t//p" /proc/$$/fdinfo/0; exec cat';
  await withInetd(t, ['sh', '-c', script], async (port) => {
    const socket = net.connect(port, '::1');
    let output = '';
    socket.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise((resolve) => socket.once('connect', resolve));
    await sleep(300); // cat is waiting in read() by now
    socket.end('late data\n');
    await new Promise((resolve) => socket.once('close', resolve));
    const [flags, echoed] = output.split('\n');
    t.equal(Number.parseInt(flags, 8) & 0o4000, 0, `O_NONBLOCK is clear (flags ${flags})`);
    t.equal(echoed, 'late data', 'cat waited for data that came late');
  });
});

t.test('a slow program does not hold up the next connections', async (t) => {
  await withInetd(t, ['sh', '-c', 'sleep 1; echo done'], async (port) => {
    const started = Date.now();
    const outputs = await Promise.all(Array.from({ length: 6 }, () => exchange(port)));
    const elapsed = Date.now() - started;
    t.same(outputs.map((o) => o.output), Array(6).fill('done\n'));
    t.ok(elapsed < 3500, `6 one-second programs ran side by side (${elapsed} ms, not ~6000)`);
  });
});

t.test('an abstract socket (@name) works', async (t) => {
  await withInetd(t, ['cat'], async (port) => {
    t.equal((await exchange(port, 'abstract\n')).output, 'abstract\n');
  }, `@skbox-inetd-test-${process.pid}`);
});

t.test('the socket file has mode 0660', async (t) => {
  await withInetd(t, ['cat'], async (port, inetd) => {
    await exchange(port, 'x');
    t.equal(fs.statSync(inetd.socketPath).mode & 0o777, 0o660);
  });
});

t.test('a stale socket file is replaced', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const socketPath = path.join(tmp.dir, 'stale.sock');
  fs.closeSync(addon.bindDatagramSocket(socketPath)); // bound, then its owner is gone
  t.ok(fs.statSync(socketPath).isSocket(), 'a leftover socket file exists');
  const inetd = await startInetd(socketPath, ['cat']);
  const sender = await startTcpToUnixSender(socketPath);
  t.teardown(async () => {
    await sender.close();
    await inetd.stop();
  });
  t.equal((await exchange(sender.port, 'after stale\n')).output, 'after stale\n');
});

function runInetd(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(binPath('socketbox-inetd'), args, { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

t.test('a live socket at the path is not taken over', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const socketPath = path.join(tmp.dir, 'live.sock');
  const live = addon.bindDatagramSocket(socketPath);
  t.teardown(() => fs.closeSync(live));
  const r = runInetd([socketPath, 'cat']);
  t.equal(r.status, 1);
  t.match(r.stderr, /in use/);
});

t.test('a file that is not a socket is refused and left alone', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const file = path.join(tmp.dir, 'precious.txt');
  fs.writeFileSync(file, 'keep me');
  const r = runInetd([file, 'cat']);
  t.equal(r.status, 1);
  t.match(r.stderr, /exists and is not a socket/);
  t.equal(fs.readFileSync(file, 'utf8'), 'keep me');
});

t.test('usage errors exit 2 with the usage, failures exit 1', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const usageErrors = [
    [],
    [path.join(tmp.dir, 's')],
    ['-x', 'a', 'b'],
    ['--max-children', '0', 'a', 'b'],
    ['--max-children=1000001', 'a', 'b'],
    ['--max-children', '2x', 'a', 'b'],
    ['--max-children=', 'a', 'b'],
    ['--max-children'],
    ['--max-kids', '3', 'a', 'b'],
  ];
  for (const args of usageErrors) {
    const r = runInetd(args);
    t.equal(r.status, 2, `args ${JSON.stringify(args)}`);
    t.match(r.stderr, /Usage: socketbox-inetd \[--max-children N\] SOCKET PROGRAM/);
  }
  t.match(runInetd(['--max-children', '-1', 'a', 'b']).stderr, /--max-children: expected a whole number from 1 to 1000000, not '-1'/);
  const help = runInetd(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /Usage:/);
  t.match(help.stdout, /--max-children N +run at most N programs at once \(default 64/, '--help documents --max-children');
  const missing = runInetd([path.join(tmp.dir, 's'), 'no-such-program-skbox']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /no-such-program-skbox: no such executable program/);
  const tooLong = runInetd([path.join(tmp.dir, 'x'.repeat(120)), 'cat']);
  t.equal(tooLong.status, 1, 'a socket path over 107 bytes is refused, not truncated');
});
