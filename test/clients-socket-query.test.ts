// socket-query run on real sockets: default fd 0, -f, IPv4 sockets shown IPv4-mapped, and
// clean failures for descriptors that are not connected IP sockets.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { handoverConnection } from './helpers/handover-connection';
import { exited } from './helpers/inetd-process';
import { binPath } from '../testkit/project-root';

const LOOP6 = '0000:0000:0000:0000:0000:0000:0000:0001';

async function run(args: string[], stdio: (number | 'ignore' | 'pipe')[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(binPath('socket-query'), args, { stdio: stdio as never });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c) => (stdout += c));
  child.stderr?.on('data', (c) => (stderr += c));
  const { code } = await exited(child);
  return { code, stdout, stderr };
}

t.test('on stdin (the default) and with -f', async (t) => {
  const conn = await handoverConnection();
  t.teardown(() => conn.release());
  const both = `[${LOOP6}]:${conn.serverPort} [${LOOP6}]:${conn.clientPort}\n`;
  t.same(await run([], [conn.fd, 'pipe', 'pipe']), { code: 0, stdout: both, stderr: '' });
  t.same(await run(['-f', '3'], ['ignore', 'pipe', 'pipe', conn.fd]), { code: 0, stdout: both, stderr: '' });
  t.equal((await run(['-rp'], [conn.fd, 'pipe', 'pipe'])).stdout, `${conn.clientPort}\n`);
});

t.test('an IPv4 socket is shown IPv4-mapped', async (t) => {
  const conn = await handoverConnection('127.0.0.1');
  t.teardown(() => conn.release());
  const r = await run(['-la'], [conn.fd, 'pipe', 'pipe']);
  t.equal(r.stdout, '0000:0000:0000:0000:0000:ffff:7f00:0001\n');
  t.equal((await run(['-lR'], [conn.fd, 'pipe', 'pipe'])).stdout,
    `00000000000000000000FFFF7F000001:${conn.serverPort.toString(16).toUpperCase().padStart(4, '0')}\n`);
});

t.test('not a connected IP socket: exit 1 with the reason', async (t) => {
  const file = fs.openSync(__filename, 'r');
  t.teardown(() => fs.closeSync(file));
  const notSocket = await run(['-f', '3'], ['ignore', 'pipe', 'pipe', file]);
  t.equal(notSocket.code, 1);
  t.match(notSocket.stderr, /^socket-query: getpeername: .*socket/m);

  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '::1', () => resolve()));
  t.teardown(() => server.close());
  const listening = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const r = await run(['-r'], [listening, 'pipe', 'pipe']);
  t.equal(r.code, 1, 'a listening socket has no remote end');
  t.match(r.stderr, /getpeername/);
  t.equal((await run(['-l'], [listening, 'pipe', 'pipe'])).stdout, `[${LOOP6}]:${(server.address() as net.AddressInfo).port}\n`);
});

t.test('usage errors exit 2', async (t) => {
  for (const args of [['-a'], ['-x'], ['-f'], ['-f', 'abc'], ['stray']]) {
    const r = spawnSync(binPath('socket-query'), args, { encoding: 'utf8' });
    t.equal(r.status, 2, JSON.stringify(args));
    t.match(r.stderr, /Usage: socket-query/);
  }
});
