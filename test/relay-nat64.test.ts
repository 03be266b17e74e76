// NAT64 mode (-N, -P, -x, -p 0, -u) in a network namespace: the address a client dialled
// inside the prefix names the backend; addresses outside the prefix are refused.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';
import { relayExchange } from './helpers/relay-client';
import { startFrontAndRelay, startRelayOnListener, type RunningProgram } from './helpers/relay-process';
import { tempDir } from '../testkit/temp-dir';

// Every address of 64:ff9b::/32 is local here (covers the /96 and /64 prefixes and
// addresses just outside them), like 2001:db8::/64 from enterTestNetns.
execFileSync('ip', ['-6', 'route', 'add', 'local', '64:ff9b::/32', 'dev', 'lo']);

const FRONT_PORT = 8080;
const BACKEND_PORT = 9000;
const ANY_ADDRESS_PORT = 9001;

/** A server that answers "LABEL LOCALADDR LOCALPORT" and closes; counts connections. */
async function whereServer(t: Test, label: string, listen: net.ListenOptions): Promise<() => number> {
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    s.end(`${label} ${s.localAddress ?? '-'} ${s.localPort ?? '-'}`);
  });
  await new Promise<void>((resolve) => server.listen(listen, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return () => count;
}

async function ask(host: string, port = FRONT_PORT): Promise<string> {
  return (await relayExchange({ host, port, timeoutMs: 10_000 })).output.toString();
}

/** socketbox on FRONT_PORT feeding a relay with relayArgs; stop() ends both (also at teardown). */
async function front(t: Test, relayArgs: string[]): Promise<RunningProgram> {
  const tmp = tempDir();
  const pair = await startFrontAndRelay(tmp.dir, FRONT_PORT, relayArgs);
  const stop = async (): Promise<number | string> => {
    await pair.stop();
    tmp.remove();
    return 0;
  };
  t.teardown(stop);
  return { ...pair.relay, stop };
}

/** Waits for the relay's log to mention what (it is written as the connection is refused). */
async function logged(relay: RunningProgram, what: RegExp): Promise<void> {
  await waitFor(`relay log matching ${what}`, () => what.test(relay.stderr()), 5000);
}

t.test('default prefix 64:ff9b::/96: the last 32 bits name the IPv4 backend', async (t) => {
  const at5 = await whereServer(t, 'five', { host: '127.0.0.5', port: BACKEND_PORT });
  await whereServer(t, 'six', { host: '127.0.0.6', port: BACKEND_PORT });
  const relay = await front(t, ['-N', '-p', String(BACKEND_PORT)]);

  t.equal(await ask('64:ff9b::7f00:5'), `five 127.0.0.5 ${BACKEND_PORT}`);
  t.equal(await ask('64:ff9b::127.0.0.6'), `six 127.0.0.6 ${BACKEND_PORT}`);
  t.match(relay.stderr(), new RegExp(`\\]:\\d+ -> \\[64:ff9b::7f00:5\\]:${FRONT_PORT}`), 'the log names the dialled address');

  const before = at5();
  t.equal(await ask('64:ff9b::1:7f00:5'), '', 'bits 64..95 not zero: outside the /96, refused');
  t.equal(await ask('2001:db8::7f00:5'), '', 'another prefix entirely: refused');
  await logged(relay, /\[2001:db8::7f00:5\]:8080: refused: local address outside the NAT64 prefix/);
  t.equal(at5(), before, 'the backend saw neither');
});

t.test('-P picks the prefix; -c supplies the upper 96 bits of the destination', async (t) => {
  await whereServer(t, 'five', { host: '127.0.0.5', port: BACKEND_PORT });
  const anyAddress = await whereServer(t, 'any', { host: '::', port: ANY_ADDRESS_PORT, ipv6Only: true });
  const relay = await front(t, ['-N', '-P', '2001:db8::', '-p', String(BACKEND_PORT)]);
  t.equal(await ask('2001:db8::7f00:5'), `five 127.0.0.5 ${BACKEND_PORT}`, 'prefix 2001:db8::/96');
  t.equal(await ask('64:ff9b::7f00:5'), '', 'the well-known prefix is now outside');
  await logged(relay, /\[64:ff9b::7f00:5\]:8080: refused/);
  await relay.stop();

  await front(t, ['-N', '-c', '2001:db8::abcd:0:0', '-p', String(ANY_ADDRESS_PORT)]);
  t.equal(await ask('64:ff9b::7f00:5'), `any 2001:db8::abcd:7f00:5 ${ANY_ADDRESS_PORT}`, 'only the last 32 bits are replaced');
  t.equal(anyAddress(), 1);
});

t.test('-x: a /64 prefix, bits 64..127 carried over', async (t) => {
  await whereServer(t, 'five', { host: '127.0.0.5', port: BACKEND_PORT });
  await whereServer(t, 'any', { host: '::', port: ANY_ADDRESS_PORT, ipv6Only: true });
  const relay = await front(t, ['-N', '-x', '-p', String(BACKEND_PORT)]);
  t.equal(await ask('64:ff9b::ffff:7f00:5'), `five 127.0.0.5 ${BACKEND_PORT}`, 'to ::ffff:127.0.0.5');
  t.equal(await ask('64:ff9b:1::ffff:7f00:5'), '', 'bits 32..63 differ: outside the /64');
  await logged(relay, /\[64:ff9b:1::ffff:7f00:5\]:8080: refused/);
  await relay.stop();

  await front(t, ['-N', '-x', '-c', '2001:db8::', '-p', String(ANY_ADDRESS_PORT)]);
  t.equal(await ask('64:ff9b::1234:5678:9abc:def0'), `any 2001:db8::1234:5678:9abc:def0 ${ANY_ADDRESS_PORT}`);
});

t.test('-p 0: the destination keeps the port the client dialled', async (t) => {
  await whereServer(t, 'five', { host: '127.0.0.5', port: BACKEND_PORT });
  // An IPv6-only listener on the backend's own port number, so both can exist.
  const relay = await startRelayOnListener('::', BACKEND_PORT, ['-N', '-p', '0']);
  t.teardown(relay.stop);
  await waitForListening(BACKEND_PORT);
  t.equal(await ask('64:ff9b::7f00:5', BACKEND_PORT), `five 127.0.0.5 ${BACKEND_PORT}`);
});

t.test('-u in NAT64 mode: the path becomes PATH-%08x of the last 32 bits', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const base = path.join(tmp.dir, 'v4');
  await whereServer(t, 'unix-7f000005', { path: `${base}-7f000005` });
  await whereServer(t, 'unix-c0a80101', { path: `${base}-c0a80101` });
  const relay = await front(t, ['-N', '-u', base]);
  t.match(await ask('64:ff9b::7f00:5'), /^unix-7f000005 /);
  t.match(await ask('64:ff9b::192.168.1.1'), /^unix-c0a80101 /);
  t.equal(await ask('64:ff9b::1:7f00:5'), '', 'outside the /96: refused');
  t.equal(await ask('64:ff9b::7f00:9'), '', 'no socket at that path: closed');
  await logged(relay, /\[64:ff9b::7f00:9\]:8080: cannot connect to the backend: No such file or directory/);
});
