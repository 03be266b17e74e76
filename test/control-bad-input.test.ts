/**
 * Bad input on the control socket (docs/control.md): an unknown command, an oversized
 * line, binary and NUL bytes, half a line then silence, and more connections than allowed
 * each get an error answer and only that connection is closed. Meanwhile the server goes
 * on delivering connections and answering another control client, and no descriptor leaks.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Child, stopAll } from '../testkit/child';
import { startReceiver } from '../testkit/fd-tool';
import { enterTestNetns } from '../testkit/netns';
import { waitForListening } from '../testkit/proc-tcp';
import { startSocketbox } from '../testkit/socketbox';
import { tempDir } from '../testkit/temp-dir';
import { waitFor } from '../testkit/wait';
import { talk } from './helpers/client';
import { ask, rawExchange } from './helpers/control';

enterTestNetns([5]);

const PORT = 8911;
const { dir } = tempDir('skbox-control-bad-');
const controlPath = path.join(dir, 'control');
const MAX_CONNECTIONS = 8; // MAX_CONTROL_CONNECTIONS
const IDLE_MS = 10_000; // CONTROL_IDLE_TIMEOUT_MS

const openFds = (pid: number): number => fs.readdirSync(`/proc/${pid}/fd`).length;

t.test('malformed requests are answered with an error and close only their connection', async (t) => {
  const configFile = path.join(dir, 'socketbox.conf');
  fs.writeFileSync(configFile, `max-rules:1\nrule-set:0\nsize:2\nip:2001:db8::1 jump-unix:${path.join(dir, 'a.sock')}\n`);
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(path.join(dir, 'a.sock'), 'a'));
  const server = startSocketbox(['-f', configFile, '-l', '::', '-p', String(PORT), '--control', controlPath]);
  children.push(server);
  await waitForListening(PORT);
  const stillServing = async (what: string): Promise<void> => {
    t.match((await talk('2001:db8::1', PORT)).greeting, /^a /, `${what}: a connection is still delivered`);
    t.match((await ask(controlPath, 'status')).stdout, /^ok serving generation 1/, `${what}: another control client is answered`);
  };
  // Warm up: the first status creates what the process keeps (the pipe handle, the worker's lookups).
  await stillServing('at the start');
  const fdsBefore = openFds(server.pid);

  // A good request first, on a connection kept open: several requests on one connection work.
  const twice = await rawExchange(controlPath, ['status\nstatus\n'], 500);
  t.equal(twice.received.match(/^ok serving/gm)?.length, 2, 'two requests on one connection, two answers');
  t.notOk(twice.closed, 'and the connection stays open');

  const cases: Array<[string, Array<string | Buffer>, RegExp]> = [
    ['an unknown command', ['frobnicate now\n'], /^error: unknown command 'frobnicate' \(commands: status, reload, explain, upgrade\)\n\n$/],
    ['an empty line', ['\n'], /^error: empty request/],
    ['a line of 5000 bytes', ['status ' + 'x'.repeat(4993) + '\n'], /^error: a request is at most 4096 bytes with its newline\n\n$/],
    ['5000 bytes without a newline', ['y'.repeat(5000)], /^error: a request is at most 4096 bytes with its newline\n\n$/],
    ['a NUL byte', [Buffer.from('sta\0tus\n', 'latin1')], /^error: the request must be printable ASCII text\n\n$/],
    ['binary without a newline', [Buffer.from([0xff, 0xfe, 0x01, 0x80])], /^error: the request must be printable ASCII text\n\n$/],
    ['a request ended without its newline', ['status'], /^error: the request ended without a newline\n\n$/],
  ];
  for (const [what, writes, expected] of cases) {
    // The last case half-closes: send what there is and end our side.
    const r = what.startsWith('a request ended') ? await halfClose(controlPath, writes[0] as string) : await rawExchange(controlPath, writes, 5000);
    t.match(r.received, expected, `${what}: an error answer`);
    t.ok(r.closed, `${what}: the connection is closed`);
  }
  await stillServing('after the malformed requests');

  // A good answer, then a bad request on the same connection: the first one is answered.
  const mixed = await rawExchange(controlPath, ['status\nbogus\n'], 5000);
  t.match(mixed.received, /^ok serving[^]*\n\nerror: unknown command 'bogus'/, 'good then bad on one connection: the answer, then the error');
  t.ok(mixed.closed, 'then it is closed');

  // Half a line, then silence: an error after the idle timeout, and closed.
  const silentExchange = rawExchange(controlPath, ['stat'], IDLE_MS + 5000);
  await stillServing('while a client sits on half a line');
  const silent = await silentExchange;
  t.equal(silent.received, `error: no complete request within ${IDLE_MS / 1000} s\n\n`, 'half a line then silence: an error answer');
  t.ok(silent.closed && silent.closedAfterMs >= IDLE_MS - 100 && silent.closedAfterMs < IDLE_MS + 3000, `closed after the idle timeout (${silent.closedAfterMs} ms)`);

  // More connections than allowed: the one too many is answered and closed; the others are served.
  const held: net.Socket[] = [];
  for (let i = 0; i < MAX_CONNECTIONS; i++) held.push(await connected(controlPath));
  const extra = await rawExchange(controlPath, [], 5000);
  t.equal(extra.received, `error: too many control connections (${MAX_CONNECTIONS}); try again later\n\n`, 'one connection too many: an error answer');
  t.ok(extra.closed, 'and closed');
  t.match((await talk('2001:db8::1', PORT)).greeting, /^a /, 'connections are still delivered while the control connections are all taken');
  held.forEach((s) => s.destroy());
  await waitFor('a control connection to be free again', async () => (await ask(controlPath, 'status')).status === 0, 10_000, 100);
  await stillServing('after the connections were released');

  await waitFor(() => `the descriptors to return to ${fdsBefore} (now ${openFds(server.pid)})`, () => openFds(server.pid) <= fdsBefore, 10_000, 50);
  t.pass(`no descriptor leaked: ${openFds(server.pid)} open, ${fdsBefore} before`);
  t.equal(await server.stop('SIGTERM'), 0, 'socketbox stops cleanly');
});

function connected(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath, () => resolve(s));
    s.on('error', reject);
  });
}

/** Writes `text`, ends our side, and reads until the server closes. */
function halfClose(socketPath: string, text: string): Promise<{ received: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path: socketPath, allowHalfOpen: true });
    let received = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ received, closed: false });
    }, 5000);
    s.on('connect', () => s.end(text));
    s.on('data', (d: Buffer) => (received += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ received, closed: true });
    });
  });
}
