// libsocketbox-preload's bind/listen/connect/getsockname behaviour, checked with a probe daemon
// (helpers/preload-probe.c) that makes the calls and reports results, errno and flags:
// ordinary binds pass through exactly as without the library; magic addresses
// (native/preload/magic_address.h) in every mode become UNIX sockets under the same
// descriptor with the original's flags.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { freePort } from '../testkit/free-port';
import { writeRecordFile } from './helpers/preload-fixtures';
import { unixSocketBound } from '../testkit/proc-unix';
import { tempDir } from '../testkit/temp-dir';
import { Probe, type Reply } from './helpers/preload-probe';

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;

const { dir } = tempDir();
const root2 = path.join(dir, 'root2');
fs.mkdirSync(path.join(root2, '00001'), { recursive: true });
writeRecordFile(dir, 0, { 0: `${dir}/wild-_@SB_.sock` });
writeRecordFile(dir, 1, {
  0: `${dir}/dgram-_@SB_.sock`,
  1: `${dir}/stream.sock`,
  // slot 2 stays empty
  3: '@skbox-preload-test-_@SB_',
  4: `${dir}/restart.sock`,
  5: `${dir}/connect-stream.sock`,
  6: `${dir}/connect-dgram.sock`,
});
const withRoot = { SKBOX_DIRECTORY_ROOT: dir };

async function probe(t: tap.Test, env: Record<string, string> = withRoot, preload = true): Promise<Probe> {
  const p = await Probe.start(env, preload);
  t.teardown(() => p.stop());
  return p;
}

/** What `info FD` must say about a socket that was replaced by a UNIX one. */
function unixSocket(type: number, socketPath: string): Partial<Reply> {
  return { domain: AF_UNIX, type, family: 'unix', path: socketPath };
}

t.test('ordinary calls pass through exactly as without the library', async (t) => {
  const port = await freePort('::1');
  const script = [
    'socket 6 stream',
    `bind 3 ::1 ${port}`,
    'listen 3',
    'info 3',
    'socket 6 stream',
    'bind 4 2001:db9::1 80', // not local
    'bind 99 ::1 80', // not a descriptor
    'bind 4 fe8f::1:0 1024', // port not below the filter
    'bind 4 fe8f::4:1:0 80', // mode 4 does not exist
    'bind 4 fe8f:0:0:1::1:0 80', // reserved middle bits set
    'socket 6 dgram',
    'bind 5 fe8f::1:0 80', // UDP sockets are never replaced
    'getsockname 3 28',
    'listen 99',
    'accept 99 - 28',
    'connect 4 fe8f::1:1:5 80', // SKBOX_ENABLE_CONNECT is off
    'info 4',
    'info 5',
  ];
  const withLibrary = await probe(t);
  const answers = await withLibrary.script(script);
  await withLibrary.stop();
  const plain = await probe(t, withRoot, false);
  const expected = await plain.script(script);
  await plain.stop();
  t.same(answers, expected, 'every answer, errno and flag is the same');
  t.match(answers[1], { rv: 0, errnoAfter: 'MARK' }, 'a successful bind leaves errno alone');
  t.match(answers[5], { rv: -1, errno: 'EADDRNOTAVAIL' });
  t.match(answers[6], { rv: -1, errno: 'EBADF' });
  t.match(answers[7], { rv: -1, errno: 'EINVAL' }, 'the kernel refuses fe8f:: (link-local) without a scope');
});

t.test('a server on [::1]:PORT works normally under the library', async (t) => {
  const port = await freePort('::1');
  const p = await probe(t);
  await p.script(['socket 6 stream', `bind 3 ::1 ${port}`, 'listen 3']);
  t.match(await p.call('info 3'), { domain: AF_INET6, type: SOCK_STREAM, listening: 1, addr: '::1', port });
  const client = net.connect(port, '::1');
  await new Promise((resolve) => client.once('connect', resolve));
  const accepted = await p.call('accept 3 - 28');
  t.match(accepted, { family: 'inet6', addr: '::1', port: client.localPort, len: 28, domain: AF_INET6 });
  const received = new Promise<string>((resolve) => client.once('data', (d) => resolve(d.toString())));
  await p.call(`write ${accepted.rv} over-tcp`);
  t.equal(await received, 'over-tcp\n', 'data flows on the accepted connection');
  client.destroy();
});

t.test('a magic bind replaces the socket in place, keeping its flags', async (t) => {
  const p = await probe(t);
  t.match(await p.call('socket 6 stream nonblock'), { rv: 3 });
  t.match(await p.call('bind 3 fe8f::1:0 80'), { rv: 0, errnoAfter: 'MARK' });
  t.match(await p.call('info 3'), { ...unixSocket(SOCK_DGRAM, `${dir}/dgram-00080.sock`), nonblock: true, cloexec: true });
  t.match(await p.call('listen 3'), { rv: 0, errnoAfter: 'MARK' }, 'listen on the datagram socket is a no-op');
  t.equal(fs.statSync(`${dir}/dgram-00080.sock`).mode & 0o777, 0o660, 'socket file mode 0660');

  t.match(await p.call('socket 6 stream inherit'), { rv: 4 });
  t.match(await p.call('bind 4 fe8f::1:0 81'), { rv: 0 });
  t.match(await p.call('info 4'), { ...unixSocket(SOCK_DGRAM, `${dir}/dgram-00081.sock`), nonblock: false, cloexec: false });

  t.match(await p.call('socket 6 stream'), { rv: 5 });
  t.match(await p.call('bind 5 fe8f::1:3 80'), { rv: 0 }, "a record '@name' is an abstract socket");
  t.match(await p.call('info 5'), unixSocket(SOCK_DGRAM, '@skbox-preload-test-00080'));
  t.ok(unixSocketBound('@skbox-preload-test-00080'));
});

t.test('mode 1 binds a UNIX stream socket: listen and accept are real', async (t) => {
  for (const stealth of [false, true]) {
    const p = await probe(t, stealth ? { ...withRoot, SKBOX_STEALTH_MODE: '1' } : withRoot);
    await p.script(['socket 6 stream', 'bind 3 fe8f::1:1:1 80']);
    t.match(await p.call('info 3'), unixSocket(SOCK_STREAM, `${dir}/stream.sock`));
    t.match(await p.call('listen 3'), { rv: 0 });
    t.match(await p.call('info 3'), { listening: 1 });
    const client = net.connect(`${dir}/stream.sock`);
    const received = new Promise<string>((resolve) => client.once('data', (d) => resolve(d.toString())));
    const accepted = await p.call('accept 3 c 28');
    if (stealth) t.match(accepted, { domain: AF_UNIX, family: 'inet6', addr: '::1', port: 0, len: 28 }, 'stealth: the peer looks like [::1]:0');
    else t.match(accepted, { domain: AF_UNIX, family: 'unix', cloexec: true });
    await p.call(`write ${accepted.rv} over-unix`);
    t.equal(await received, 'over-unix\n');
    client.destroy();
    await p.stop();
  }
});

t.test('modes 2 and 3 use $SKBOX_DIRECTORY_ROOT2/AAAAA/BBBBB_PPPPP', async (t) => {
  const p = await probe(t, { SKBOX_DIRECTORY_ROOT2: root2 });
  await p.script(['socket 6 stream', 'bind 3 fe8f::2:1:7 81', 'socket 6 stream', 'bind 4 fe8f::3:1:8 82']);
  t.match(await p.call('info 3'), unixSocket(SOCK_DGRAM, `${root2}/00001/00007_00081`));
  t.match(await p.call('info 4'), unixSocket(SOCK_STREAM, `${root2}/00001/00008_00082`));
  await p.call('socket 6 stream');
  t.match(await p.call('bind 5 fe8f::1:0 80'), { rv: -1, errno: 'EADDRNOTAVAIL' }, 'mode 0 without SKBOX_DIRECTORY_ROOT fails closed');
  t.match(await p.call('info 5'), { domain: AF_INET6, port: 0 }, 'the socket stays an unbound TCP socket');
  await p.waitForStderr(/^libsocketbox-preload: bind to \[fe8f::1:0\]:80 refused: SKBOX_DIRECTORY_ROOT: not set \(Cannot assign requested address\)$/m);

  const q = await probe(t, withRoot);
  await q.call('socket 6 stream');
  t.match(await q.call('bind 3 fe8f::2:1:7 81'), { rv: -1, errno: 'EADDRNOTAVAIL' }, 'mode 2 without SKBOX_DIRECTORY_ROOT2 fails closed');
  await q.waitForStderr(/bind to \[fe8f::2:1:7\]:81 refused: SKBOX_DIRECTORY_ROOT2: not set/);

  const r = await probe(t, { SKBOX_DIRECTORY_ROOT2: '/' + 'r'.repeat(89) });
  await r.call('socket 6 stream');
  t.match(await r.call('bind 3 fe8f::3:1:7 81'), { rv: -1, errno: 'ENAMETOOLONG' }, 'a root2 path that cannot fit sun_path');
  await r.waitForStderr(/SKBOX_DIRECTORY_ROOT2: too long for a UNIX socket path with \/AAAAA\/BBBBB_PPPPP \(at most 89 bytes\)/);
});

t.test('IPv4 127.180.A.B and 127.181.A.B', async (t) => {
  const p = await probe(t);
  await p.script(['socket 4 stream', 'bind 3 127.180.1.0 80', 'socket 4 stream', 'bind 4 127.181.1.1 80']);
  t.match(await p.call('info 3'), unixSocket(SOCK_DGRAM, `${dir}/dgram-00080.sock`));
  t.match(await p.call('info 4'), unixSocket(SOCK_STREAM, `${dir}/stream.sock`));
  await p.script(['socket 4 stream', 'bind 5 127.182.1.0 80', 'socket 4 stream', 'bind 6 127.180.1.0 1024']);
  t.match(await p.call('info 5'), { domain: AF_INET, family: 'inet', addr: '127.182.1.0', port: 80 }, 'outside the /15: ordinary');
  t.match(await p.call('info 6'), { domain: AF_INET, addr: '127.180.1.0', port: 1024 }, 'port 1024: ordinary');
});

t.test('fe8f:1::/32 binds link-local with the scope id from the second word', async (t) => {
  const p = await probe(t);
  await p.script(['socket 6 stream', 'freebind 3']);
  t.match(await p.call('bind 3 fe8f:1:0:1::5 0'), { rv: 0 });
  t.match(await p.call('info 3'), { domain: AF_INET6, addr: 'fe80::5', scope: 1 });
});

t.test('wildcard binds are magic only for ports in the wildcard filters', async (t) => {
  const p = await probe(t, { ...withRoot, SKBOX_PORT_FILTER_IPV6_WILDCARD: '81-82', SKBOX_PORT_FILTER_IPV4_WILDCARD: '84' });
  await p.script(['socket 6 stream', 'bind 3 :: 81', 'socket 6 stream', 'bind 4 :: 85', 'socket 4 stream', 'bind 5 0.0.0.0 83', 'socket 4 stream', 'bind 6 0.0.0.0 84']);
  t.match(await p.call('info 3'), unixSocket(SOCK_DGRAM, `${dir}/wild-00081.sock`), '[::]:81 uses record 0 of skbox_dir_00000');
  t.match(await p.call('info 4'), { domain: AF_INET6, port: 85 });
  t.match(await p.call('info 5'), unixSocket(SOCK_DGRAM, `${dir}/wild-00083.sock`), '0.0.0.0:83 is below 84');
  t.match(await p.call('info 6'), { domain: AF_INET, port: 84 });

  const q = await probe(t);
  await q.script(['socket 6 stream', 'bind 3 :: 81']);
  t.match(await q.call('info 3'), { domain: AF_INET6, port: 81 }, 'no wildcard filter by default');
});

t.test('SKBOX_PORT_FILTER_IPV6 and _IPV4 choose the magic ports', async (t) => {
  const p = await probe(t, { ...withRoot, SKBOX_PORT_FILTER_IPV6: '2000', SKBOX_PORT_FILTER_IPV4: '80-80,90-95' });
  await p.script(['socket 6 stream', 'bind 3 fe8f::1:0 1500', 'socket 4 stream', 'bind 4 127.180.1.0 81', 'socket 4 stream', 'bind 5 127.180.1.0 92']);
  t.match(await p.call('info 3'), unixSocket(SOCK_DGRAM, `${dir}/dgram-01500.sock`));
  t.match(await p.call('info 4'), { domain: AF_INET, port: 81 });
  t.match(await p.call('info 5'), unixSocket(SOCK_DGRAM, `${dir}/dgram-00092.sock`));

  const q = await probe(t, { ...withRoot, SKBOX_PORT_FILTER_IPV6: '1-2-3' });
  await q.script(['socket 6 stream', 'bind 3 fe8f::1:0 82']);
  t.match(await q.call('info 3'), unixSocket(SOCK_DGRAM, `${dir}/dgram-00082.sock`), 'a malformed filter keeps the default');
  t.match(q.stderr, /ignoring SKBOX_PORT_FILTER_IPV6=1-2-3/);
});

t.test('record problems fail the bind with a telling errno and one line, and leave the socket alone', async (t) => {
  const socketFiles = () => fs.readdirSync(dir).filter((f) => f.endsWith('.sock'));
  const before = socketFiles();
  const p = await probe(t);
  await p.call('socket 6 stream');
  t.match(await p.call('bind 3 fe8f::2:0 80'), { rv: -1, errno: 'ENOENT' }, 'no skbox_dir_00002');
  t.match(await p.call('bind 3 fe8f::1:2 80'), { rv: -1, errno: 'EADDRNOTAVAIL' }, 'empty record');
  t.match(await p.call('bind 3 fe8f::1:9 80'), { rv: -1, errno: 'ERANGE' }, 'record past the end of the file');
  t.match(await p.call('info 3'), { domain: AF_INET6, type: SOCK_STREAM, port: 0 });
  t.same(socketFiles(), before, 'no socket file created');
  await p.waitForStderr(/record 9: /);
  t.same(p.stderr.split('\n').filter(Boolean), [
    `libsocketbox-preload: bind to [fe8f::2:0]:80 refused: ${dir}/skbox_dir_00002, record 0: cannot open the file (No such file or directory)`,
    `libsocketbox-preload: bind to [fe8f::1:2]:80 refused: ${dir}/skbox_dir_00001, record 2: empty (Cannot assign requested address)`,
    `libsocketbox-preload: bind to [fe8f::1:9]:80 refused: ${dir}/skbox_dir_00001, record 9: past the end of the file (Numerical result out of range)`,
  ], 'one line per refused bind, naming the file, the record and the problem');
});

t.test('junk record files are refused with a clear error, and never hang the bind', async (t) => {
  const junk = path.join(dir, 'junk');
  fs.mkdirSync(junk);
  const record = (text: string) => Buffer.concat([Buffer.from(text, 'latin1'), Buffer.alloc(128)]).subarray(0, 128);
  const files: Array<[string, Buffer | 'fifo' | 'directory', string, RegExp]> = [
    ['a text file of paths', Buffer.from('/run/app.sock\n/run/other.sock\n'), 'EINVAL', /record 0: a control character in the path \(not a record file\?\)/],
    ['a path without its NUL at the end of the file', Buffer.from('/run/app.sock'), 'ERANGE', /record 0: cut off by the end of the file/],
    ['128 bytes without a NUL', Buffer.alloc(128, 'x'), 'ENAMETOOLONG', /record 0: no NUL within 108 bytes \(a path holds at most 107\)/],
    ['an escape sequence in the path', record('/run/a\x1b[2J.sock'), 'EINVAL', /record 0: a control character in the path/],
    ['an ELF header', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00]), 'EINVAL', /record 0: a control character in the path/],
    ["'@' alone", record('@'), 'EADDRNOTAVAIL', /record 0: an abstract name with nothing after '@'/],
    ['a FIFO (opening it for reading would wait for a writer)', 'fifo', 'EINVAL', /record 0: not a regular file/],
    ['a directory', 'directory', 'EINVAL', /record 0: not a regular file/],
  ];
  files.forEach(([, content], index) => {
    const file = path.join(junk, `skbox_dir_${String(index + 1).padStart(5, '0')}`);
    if (content === 'fifo') execFileSync('mkfifo', [file]);
    else if (content === 'directory') fs.mkdirSync(file);
    else fs.writeFileSync(file, content);
  });
  for (const [index, [what, , errno, line]] of files.entries()) {
    const group = index + 1;
    await t.test(`skbox_dir_${String(group).padStart(5, '0')}: ${what}`, async (t) => {
      const p = await probe(t, { SKBOX_DIRECTORY_ROOT: junk });
      await p.call('socket 6 stream');
      t.match(await p.call(`bind 3 fe8f::${group.toString(16)}:0 80`, 5_000), { rv: -1, errno }, `${errno}, at once`);
      await p.waitForStderr(/\n/);
      const lines = p.stderr.split('\n').filter(Boolean);
      t.equal(lines.length, 1, 'one line on stderr');
      t.match(lines[0], new RegExp(`^libsocketbox-preload: bind to \\[fe8f::${group.toString(16)}:0\\]:80 refused: ${junk}/skbox_dir_`));
      t.match(lines[0], line);
      t.match(await p.call('info 3'), { domain: AF_INET6, type: SOCK_STREAM, port: 0 }, 'the socket is still the unbound TCP socket');
    });
  }
  t.same(fs.readdirSync(junk).filter((f) => !f.startsWith('skbox_dir_')), [], 'no socket file created');
});

t.test('a stale socket file is replaced, a live socket is not', async (t) => {
  const first = await probe(t);
  await first.script(['socket 6 stream', 'bind 3 fe8f::1:4 80']);
  t.ok(unixSocketBound(`${dir}/restart.sock`));
  const second = await probe(t);
  await second.call('socket 6 stream');
  t.match(await second.call('bind 3 fe8f::1:4 80'), { rv: -1, errno: 'EADDRINUSE' }, 'someone is bound there');
  await first.stop(); // killed: the file stays
  t.ok(fs.existsSync(`${dir}/restart.sock`));
  t.match(await second.call('bind 3 fe8f::1:4 80'), { rv: 0 }, 'the stale file is taken over');
  t.match(await second.call('info 3'), unixSocket(SOCK_DGRAM, `${dir}/restart.sock`));
});

t.test('SKBOX_BLOCK_LISTEN_EMPTY_ADDR refuses listen on a never-bound TCP socket', async (t) => {
  const p = await probe(t);
  await p.script(['socket 6 stream', 'socket 4 stream']);
  t.match(await p.call('listen 3'), { rv: -1, errno: 'EINVAL' });
  t.match(await p.call('listen 4'), { rv: -1, errno: 'EINVAL' });
  const q = await probe(t, { ...withRoot, SKBOX_BLOCK_LISTEN_EMPTY_ADDR: '0' });
  await q.call('socket 6 stream');
  t.match(await q.call('listen 3'), { rv: 0 }, 'allowed when set to 0');
});

t.test('SKBOX_ENABLE_CONNECT=1 connects to stream targets only', async (t) => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(`${dir}/connect-stream.sock`, resolve));
  t.teardown(() => server.close());
  const received = new Promise<string>((resolve) => server.once('connection', (c) => c.once('data', (d) => resolve(d.toString()))));

  const p = await probe(t, { ...withRoot, SKBOX_ENABLE_CONNECT: '1' });
  await p.call('socket 6 stream');
  t.match(await p.call('connect 3 fe8f::1:1:5 80'), { rv: 0, errnoAfter: 'MARK' });
  t.match(await p.call('info 3'), { domain: AF_UNIX, type: SOCK_STREAM, cloexec: true });
  await p.call('write 3 through-connect');
  t.equal(await received, 'through-connect\n');
  await p.call('socket 6 stream');
  t.match(await p.call('connect 4 fe8f::1:6 80'), { rv: -1, errno: 'EINVAL' }, 'a datagram target needs level 2');
});

t.test('SKBOX_ENABLE_CONNECT fails closed too: never a real connect to a magic address', async (t) => {
  // A real server at 127.181.1.5:80 (in this test's own network namespace): with the variable
  // unset, a connect that fell through would reach it instead of the socketbox target.
  const decoy = net.createServer((c) => c.end('decoy\n'));
  await new Promise<void>((resolve) => decoy.listen(80, '127.181.1.5', resolve));
  t.teardown(() => decoy.close());
  const p = await probe(t, { SKBOX_ENABLE_CONNECT: '1' });
  await p.call('socket 4 stream');
  t.match(await p.call('connect 3 127.181.1.5 80'), { rv: -1, errno: 'EADDRNOTAVAIL' });
  await p.waitForStderr(/^libsocketbox-preload: connect to 127\.181\.1\.5:80 refused: SKBOX_DIRECTORY_ROOT: not set \(Cannot assign requested address\)$/m);
  t.match(await p.call('info 3'), { domain: AF_INET, type: SOCK_STREAM, port: 0 }, 'the socket is left unconnected');
});

t.test('SKBOX_ENABLE_CONNECT=2 hands a socketpair end to a datagram target', async (t) => {
  const addon = loadClientAddon();
  const receiver = addon.bindDatagramSocket(`${dir}/connect-dgram.sock`);
  t.teardown(() => {
    fs.closeSync(receiver);
    fs.rmSync(`${dir}/connect-dgram.sock`, { force: true });
  });
  const p = await probe(t, { ...withRoot, SKBOX_ENABLE_CONNECT: '2' });
  await p.call('socket 6 stream');
  t.match(await p.call('connect 3 fe8f::1:6 80'), { rv: 0 });
  const got = addon.receiveFd(receiver, 2, true);
  t.equal(got.status, 'fd', 'the receiver got a connection');
  t.teardown(() => fs.closeSync(got.fd));
  await p.call('write 3 through-pair');
  const buffer = Buffer.alloc(64);
  t.equal(buffer.subarray(0, fs.readSync(got.fd, buffer)).toString(), 'through-pair\n', 'data flows through the pair');
});

// The probe's buffer is 256 bytes of 0xAA; getsockname FD ROOM passes *len = ROOM and shows
// the first ROOM bytes afterwards. Bytes the kernel does not write show what the library did.
const bytesFrom = (reply: Reply, from: number) => String(reply.raw).slice(2 * from);

t.test('SKBOX_GETPEERNAME_PROTECTION zeroes the caller buffer past a short address', async (t) => {
  // An unbound UNIX socket's address is its family alone: 2 bytes.
  const expectations: Array<[string, number, string]> = [
    ['2', 64, '00'.repeat(62)],
    ['0', 64, 'aa'.repeat(62)],
    ['1', 64, 'aa'.repeat(62)], // level 1 only for buffers sized exactly sockaddr_in/_in6
    ['1', 28, '00'.repeat(26)],
  ];
  for (const [level, room, expected] of expectations) {
    const p = await probe(t, { SKBOX_GETPEERNAME_PROTECTION: level });
    await p.call('socket unix dgram');
    const reply = await p.call(`getsockname 3 ${room}`);
    t.match(reply, { rv: 0, len: 2, family: 'unix' });
    t.equal(bytesFrom(reply, 2), expected, `level ${level}, *len ${room}: bytes past the address`);
    await p.stop();
  }
});

t.test('SKBOX_GETPEERNAME_PROTECTION never writes where the kernel could not (a canary after a small buffer)', async (t) => {
  // A sockaddr_in passed with *len = sizeof(struct sockaddr_storage): harmless with the kernel,
  // which writes 16 bytes for an IPv4 socket. Bytes 16..127 stand for what follows the buffer.
  const port4 = await freePort('127.0.0.1');
  const port6 = await freePort('::1');
  for (const level of ['2', '1']) {
    const p = await probe(t, { SKBOX_GETPEERNAME_PROTECTION: level });
    await p.script(['socket 4 stream', `bind 3 127.0.0.1 ${port4}`, 'socket 6 stream', `bind 4 ::1 ${port6}`]);
    const v4 = await p.call('getsockname 3 128');
    t.match(v4, { rv: 0, len: 16, addr: '127.0.0.1', port: port4 });
    t.equal(bytesFrom(v4, 16), 'aa'.repeat(112), `level ${level}: the canary after a sockaddr_in is intact`);
    const v4As6 = await p.call('getsockname 3 28');
    t.equal(bytesFrom(v4As6, 16), 'aa'.repeat(12), `level ${level}: *len 28 on an IPv4 socket: nothing past its 16 bytes`);
    const v6 = await p.call('getsockname 4 128');
    t.match(v6, { rv: 0, len: 28, addr: '::1', port: port6 });
    t.equal(bytesFrom(v6, 28), 'aa'.repeat(100), `level ${level}: the canary after a sockaddr_in6 is intact`);
    await p.stop();
  }
});
