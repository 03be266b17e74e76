/**
 * jump-fd:N and -i N name a descriptor the parent passed on: only a UNIX
 * datagram or seqpacket socket that was open when socketbox started, and not
 * one socketbox uses itself. Refused at start-up and on reload, with the
 * config position: a pipe, a stream socket, the listener (inherited with -s or
 * bound by socketbox), standard output, the systemd notify socket and a -P
 * registration; a seqpacket socketpair is served.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { listeningTcpFds, waitForListening } from '../testkit/proc-tcp';
import { unixSocketFdsOfType } from '../testkit/proc-unix';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX } from '../testkit/socketbox';
import { startFdTool, startReceiver } from '../testkit/fd-tool';
import { talk } from './helpers/client';
import { startNotifyListener } from './helpers/socket-activate';
import { startJsonServer, waitForRegistered } from './helpers/registration';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-jump-fd-'));
let nextPort = 8950;
const SOCK_DGRAM = 2;
const SOCK_SEQPACKET = 5;

/** A config whose line 4, column 16 is `jump-fd:FD`; other addresses go to the receiver at r.sock. */
function jumpFdConfig(name: string, fd: number): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, ['max-rules:1', 'rule-set:0', 'size:2', `ip:2001:db8::2 jump-fd:${fd}`, `ip:2001:db8::1 jump-unix:${dir}/r.sock`, ''].join('\n'));
  return file;
}

async function refusedAtStart(t: Test, tool: string[], expected: string): Promise<void> {
  const c = startFdTool(tool);
  t.teardown(() => stopAll([c]));
  const status = await c.wait(10_000);
  // The listener mode runs socketbox as its child and reports its status; the others exec it.
  t.equal(c.events.find((e) => 'exit' in e)?.exit ?? status, 1, `${expected}: exit status 1`);
  t.match(c.stderr, expected);
}

t.test('at start-up: a pipe, a stream socket, a listener, standard output', async (t) => {
  const conf = jumpFdConfig('start.conf', 3);
  const serve = ['-l', '::', '-p', String(nextPort++)];
  await refusedAtStart(t, ['fds', 'pipe', '--', SOCKETBOX, '-f', conf, ...serve], `${conf}:4:16: descriptor 3 is a pipe; it must be a UNIX datagram or seqpacket socket`);
  await refusedAtStart(t, ['fds', 'stream', '--', SOCKETBOX, '-f', conf, ...serve], `${conf}:4:16: descriptor 3 is a UNIX stream socket; it must be a UNIX datagram or seqpacket socket`);
  await refusedAtStart(t, ['listener', String(nextPort++), '--', SOCKETBOX, '-s', '3', '-f', conf], `${conf}:4:16: descriptor 3 is one of socketbox's listening sockets`);
  await refusedAtStart(t, ['listener', String(nextPort++), '--', SOCKETBOX, '-s', '3', '-i', '3'], "-i 3: descriptor 3 is one of socketbox's listening sockets");
  await refusedAtStart(t, ['fds', 'dgram', '--', SOCKETBOX, '-i', '1', ...serve], "-i 1: descriptor 1 is socketbox's standard output");
});

t.test('a seqpacket socket passed on is served', async (t) => {
  const port = nextPort++;
  const wrapper = startFdTool(['socketpair', 'seq', '--seqpacket', '--', SOCKETBOX, '-f', jumpFdConfig('seq.conf', 3), '-l', '::', '-p', String(port)]);
  t.teardown(() => stopAll([wrapper]));
  await waitForListening(port);
  t.equal((await talk('2001:db8::2', port, { line: 'p' })).echo, 'seq echo:p', 'delivered over the inherited seqpacket socket');
});

/** Rewrites conf to send 2001:db8::2 to jump-fd:FD and reloads: the reload must fail with why, and the old rules keep serving. */
async function refusedOnReload(t: Test, server: Child, conf: string, fd: number, why: string, port?: number): Promise<void> {
  const good = fs.readFileSync(conf);
  const failures = (server.stderr.match(/reload failed/g) ?? []).length;
  fs.copyFileSync(jumpFdConfig('reload-attempt.conf', fd), conf);
  server.proc.kill('SIGHUP');
  await waitFor(`the reload naming fd ${fd} to be refused; stderr: ${server.stderr}`, () => (server.stderr.match(/reload failed/g) ?? []).length > failures);
  t.match(server.stderr, `reload failed, keeping the previous rules: ${conf}:4:16: descriptor ${fd} ${why}`, `jump-fd:${fd} is refused: ${why}`);
  fs.writeFileSync(conf, good);
  if (port !== undefined) t.equal((await talk('2001:db8::1', port, { line: 'k' })).echo, 'r echo:k', 'the previous rules still serve');
}

t.test('on reload: the bound listener and the systemd notify socket', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(path.join(dir, 'r.sock'), 'r'));
  const notify = await startNotifyListener(path.join(dir, 'notify.sock'));
  children.push(notify);
  const conf = path.join(dir, 'running.conf');
  fs.writeFileSync(conf, `max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::1 jump-unix:${dir}/r.sock\n`);
  const port = nextPort++;
  const server = new Child(spawn(SOCKETBOX, ['-f', conf, '-l', '::', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NOTIFY_SOCKET: path.join(dir, 'notify.sock') } }));
  children.push(server);
  await waitForListening(port);
  await notify.waitForEvent((e) => (e.fields as Record<string, string> | undefined)?.READY === '1', 10_000, 'READY=1');
  const [listener] = listeningTcpFds(server.pid);
  const [notifySocket] = unixSocketFdsOfType(server.pid, SOCK_DGRAM);
  t.ok(listener > 2 && notifySocket > 2, `the listener is fd ${listener}, the notify socket fd ${notifySocket}`);
  await refusedOnReload(t, server, conf, listener, "is one of socketbox's listening sockets", port);
  await refusedOnReload(t, server, conf, notifySocket, 'was opened by socketbox itself, not inherited from its parent', port);
});

t.test('on reload: the registration of socketbox -P at its upstream server', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const api = path.join(dir, 'api.sock');
  const metricsPort = nextPort++;
  const front = startJsonServer(path.join(dir, 'front.json'), {
    'socketbox-version': 1,
    incoming: [{ address: '::', port: nextPort++ }],
    paths: [{ socket: api }],
    outgoing: [{ uid: 0, path_nr: 0 }],
    rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } },
  }, metricsPort);
  children.push(front);
  await waitFor(`the registration socket; stderr: ${front.stderr}`, () => fs.existsSync(api));
  const conf = path.join(dir, 'chained.conf');
  fs.writeFileSync(conf, `max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::1 jump-unix:${dir}/r.sock\n`);
  const chained = new Child(spawn(SOCKETBOX, ['-P', `0:${api}`, '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
  children.push(chained);
  await waitForRegistered(metricsPort, 1);
  await waitFor(`the chained server to serve; stderr: ${chained.stderr}`, () => chained.stderr.includes('listening on'), 15_000);
  const [registration] = unixSocketFdsOfType(chained.pid, SOCK_SEQPACKET);
  t.ok(registration > 2, `the registration is fd ${registration}`);
  await refusedOnReload(t, chained, conf, registration, `is socketbox's registration at ${api} (-P)`);
});
