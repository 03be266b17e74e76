/**
 * The registration server (docs/config-json.md, docs/wire-protocol.md#registration)
 * end to end, in a private network namespace: socketbox-inetd-p receivers register for slots
 * over SOCK_SEQPACKET, one of them as another uid; the server checks who they
 * are (SO_PEERCRED), routes by address, port and listener, refuses what it
 * must, keeps registrations across a reload, and ends them when it stops. A stop
 * serves the backlog of the listeners it bound, not of inherited ones.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';
import { unixSocketFdsAt } from '../testkit/proc-unix';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX } from '../testkit/socketbox';
import { startDrainReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { LoadResult, runLoad } from '../testkit/load-generator';
import { talk } from './helpers/client';
import { startActivated } from './helpers/socket-activate';
import { NOBODY, registrationTool, scrape, waitForSample, startInetdP, startJsonServer, waitForRegistered } from './helpers/registration';

enterTestNetns([5]);

const PORT = 8501;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-registration-'));
fs.chmodSync(dir, 0o755); // the receiver running as nobody must reach the API socket
const api = path.join(dir, 'api.sock');

function config(overrides: { slot1Uid?: number; rules?: Record<string, unknown>; port?: number; limit?: number } = {}) {
  return {
    'socketbox-version': 1,
    incoming: [
      { address: '::', port: overrides.port ?? PORT },
      { address: '::', port: PORT + 1 },
    ],
    paths: [{ socket: api, mode: '0666' }],
    outgoing: [
      { uid: 0, path_nr: 0 },
      { uid: overrides.slot1Uid ?? NOBODY, path_nr: 0 },
      { uid: NOBODY, path_nr: 0 },
    ],
    daemon: { api_connections_per_uid: overrides.limit ?? 5 },
    rules: overrides.rules ?? {
      _start: {
        type: 'rule',
        rules: [
          { incoming_socket: 1, jump: 'o:1' },
          { l_ip: '2001:db8::/64', jump: 'r:sites' },
        ],
      },
      sites: {
        type: 'map',
        rules: [
          { l_ip: '2001:db8::1', l_port: PORT, jump: 'o:0' },
          { l_ip: '2001:db8::2', l_port: PORT, jump: 'o:1' },
          { l_ip: '2001:db8::3', l_port: PORT, jump: 'o:2' },
        ],
      },
    },
  };
}

async function expectServed(t: Test, host: string, port: number, name: string, uid: number): Promise<void> {
  const r = await talk(host, port, { localAddress: 'fd00:1::5', line: `to-${name}` });
  t.equal(r.greeting, `${name} uid=${uid}`, `[${host}]:${port} reaches ${name}, which runs as uid ${uid}`);
  t.equal(r.echo, `to-${name}`, 'data flows both ways through the passed socket');
}

async function expectRefusedRegistration(t: Test, slot: number, uid: number, why: string): Promise<void> {
  const c = startInetdP(api, slot, 'intruder', uid);
  t.equal(await c.wait(), 1, `${why}: socketbox-inetd-p exits 1`);
  t.match(c.stderr, /refused the registration/, `${why}: it says the server refused`);
}

/** The server on config(), slot 0 taken by root ("zero"), slot 1 by nobody ("one"). */
async function serverWithTwoReceivers(t: Test, file: string): Promise<{ server: Child; zero: Child; one: Child }> {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const server = startJsonServer(file, config(), PORT + 100);
  children.push(server);
  await waitForListening(PORT);
  const zero = startInetdP(api, 0, 'zero', 0);
  const one = startInetdP(api, 1, 'one', NOBODY);
  children.push(zero, one);
  await waitForRegistered(PORT + 100, 2);
  return { server, zero, one };
}

t.test('slots are served to their owners only; the server going away ends them with status 0', async (t) => {
  const { server, zero, one } = await serverWithTwoReceivers(t, path.join(dir, 'a.json'));

  await expectServed(t, '2001:db8::1', PORT, 'zero', 0);
  await expectServed(t, '2001:db8::2', PORT, 'one', NOBODY);
  await expectServed(t, '2001:db8::1', PORT + 1, 'one', NOBODY); // incoming_socket 1
  const unclaimed = await talk('2001:db8::3', PORT);
  t.equal(unclaimed.greeting, null, 'a slot nobody registered: the connection is refused');
  const nowhere = await talk('2001:db8::4', PORT);
  t.equal(nowhere.greeting, null, 'no entry matches: refused');

  await expectRefusedRegistration(t, 0, NOBODY, 'a uid that does not own the slot');
  await expectRefusedRegistration(t, 1, 0, 'root, for a slot owned by nobody');
  await expectRefusedRegistration(t, 0, 0, 'a slot already taken');
  await expectRefusedRegistration(t, 7, 0, 'a slot that does not exist');
  await expectServed(t, '2001:db8::1', PORT, 'zero', 0); // the refusals disturbed nothing

  const m = await scrape(PORT + 100);
  t.equal(m.get('socketbox_registrations_total{result="granted"}'), 2, 'two registrations granted');
  t.equal(m.get('socketbox_registrations_total{result="slot"}'), 3, 'three for slots the peer may not take');
  t.equal(m.get('socketbox_registrations_total{result="taken"}'), 1, 'one for a taken slot');
  t.equal(m.get('socketbox_connections_refused_total{reason="no_receiver"}'), 1, 'the unclaimed slot counted as no_receiver');
  t.equal(m.get('socketbox_connections_refused_total{reason="no_match"}'), 1, 'the unmatched connection counted as no_match');
  t.equal(m.get('socketbox_connections_delivered_total{target="o:1"}'), 2, 'slot 1 got two');

  t.equal(await server.stop(), 0, 'the server stops with status 0');
  t.equal(await zero.wait(), 0, 'the root receiver exits 0 when the server goes away');
  t.equal(await one.wait(), 0, 'the receiver running as nobody exits 0 too');
  t.match(one.stderr, /closed the registration/);
});

t.test('a reload keeps registrations whose slot still exists, and refuses listener changes', async (t) => {
  const file = path.join(dir, 'b.json');
  const { server, zero, one } = await serverWithTwoReceivers(t, file);

  await expectServed(t, '2001:db8::2', PORT, 'one', NOBODY); // the accept loop now holds slot 1's descriptor
  // Slot 1 changes owner and every address now goes to slot 0.
  fs.writeFileSync(file, JSON.stringify(config({ slot1Uid: 0, rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } } })));
  server.proc.kill('SIGHUP');
  t.equal(await one.wait(), 0, 'the receiver of the changed slot is let go (end of stream, exit 0)');
  await expectServed(t, '2001:db8::2', PORT, 'zero', 0);
  t.equal(zero.exitCode, null, 'slot 0 kept its receiver: no new registration needed');

  fs.writeFileSync(file, JSON.stringify(config({ port: PORT + 2 })));
  server.proc.kill('SIGHUP');
  const deadline = Date.now() + 10_000;
  while (!/reload failed/.test(server.stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.match(server.stderr, /reload failed, keeping the previous rules: .*`incoming` changed; restart socketbox to apply it/);
  await expectServed(t, '2001:db8::3', PORT, 'zero', 0);
  const m = await scrape(PORT + 100);
  t.equal(m.get('socketbox_registrations_ended_total{cause="reload"}'), 1, 'one registration dropped by the reload');
});

t.test('the per-uid limit of open API connections', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const server = startJsonServer(path.join(dir, 'c.json'), config({ limit: 3 }), PORT + 100);
  children.push(server);
  await waitForListening(PORT);
  t.same(await registrationTool(['limit', api, '5']), { opened: 5, closed: 2 }, 'the 4th and 5th connection of one uid are closed at once');
  const m = await scrape(PORT + 100);
  t.equal(m.get('socketbox_registrations_total{result="uid_limit"}'), 2);
});

/**
 * The server with slot 0 taken by a receiver that reads nothing yet, and `connections` on
 * their way to it; resolves once some of them wait in socketbox. 500 in flight are more than
 * a seqpacket send buffer holds (~270 small packets with the default wmem), so the later ones
 * must wait for EPOLLOUT.
 */
async function loadIntoHeldReceiver(t: Test, file: string, name: string, connections: number): Promise<{ held: Child; load: Promise<LoadResult> }> {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const server = startJsonServer(file, config(), PORT + 100);
  children.push(server);
  await waitForListening(PORT);
  const held = await startDrainReceiver(`reg:${api}:0`, name, { hold: true });
  children.push(held);
  await waitForRegistered(PORT + 100, 1);
  const load = runLoad({ hosts: ['2001:db8::1'], port: PORT, connections, inFlight: 500, timeoutMs: 20_000 });
  await waitForSample(PORT + 100, 'socketbox_connections_pending{target="o:0"}', (v) => (v ?? 0) > 0);
  return { held, load };
}

t.test('a slot whose receiver is full: connections wait in order, then are delivered', async (t) => {
  const { held, load } = await loadIntoHeldReceiver(t, path.join(dir, 'd.json'), 'held', 1500);
  held.proc.kill('SIGUSR1');
  const result = await load;
  t.equal(result.delivered, 1500, 'every connection delivered once the receiver reads again');
  const report = await stopDrainReceiver(held);
  t.match(report, { count: 1500, ordered: true }, 'all of them, in order');
  const m = await scrape(PORT + 100);
  t.equal(m.get('socketbox_connections_delivered_total{target="o:0"}'), 1500);
  t.equal(m.get('socketbox_connections_pending{target="o:0"}'), 0, 'nothing left waiting');
});

t.test('a registered receiver that dies while connections wait: they are refused and counted', async (t) => {
  const { held, load } = await loadIntoHeldReceiver(t, path.join(dir, 'e.json'), 'doomed', 800);
  held.proc.kill('SIGKILL');
  const result = await load;
  t.equal(result.delivered, 0, 'nobody answered');
  t.equal(result.refused, 800, 'every connection ended (closed or reset), none hangs');
  await waitForRegistered(PORT + 100, 0);
  const m = await scrape(PORT + 100);
  const refused = (reason: string) => m.get(`socketbox_connections_refused_total{reason="${reason}"}`) ?? 0;
  const delivered = m.get('socketbox_connections_delivered_total{target="o:0"}') ?? 0;
  t.equal(delivered + refused('no_receiver') + refused('timeout'), 800, 'accepted = delivered (to the dead queue) + no_receiver + timeout');
  t.ok(refused('no_receiver') > 0, 'connections after its death were refused as no_receiver');
  t.equal(m.get('socketbox_connections_pending{target="o:0"}'), 0, 'nothing left waiting');
});

/** A listening socket for socketbox to inherit; close ours once it has its copy (ours would accept too). */
async function listenerToPass(port: number): Promise<{ fd: number; close(): void }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen({ host: '::', port, backlog: 64 }, resolve));
  return { fd: (listener as unknown as { _handle: { fd: number } })._handle.fd, close: () => listener.close() };
}

t.test('an inherited listener (`fd`), and one that does not listen', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const listener = await listenerToPass(PORT + 5);
  const file = path.join(dir, 'f.json');
  const inherited = {
    ...config(),
    incoming: [{ fd: 3 }],
    rules: { _start: { type: 'rule', rules: [{ incoming_socket: 0, jump: 'o:0' }] } },
  };
  fs.writeFileSync(file, JSON.stringify(inherited));
  const server = new Child(spawn(SOCKETBOX, ['-f', file, '--metrics', String(PORT + 100)], { stdio: ['ignore', 'pipe', 'pipe', listener.fd] }));
  children.push(server);
  listener.close(); // ours would accept too; the server has its own copy now
  await waitFor(`socketbox to start; stderr: ${server.stderr}`, () => server.stderr.includes('listening on'), 15_000);
  const zero = startInetdP(api, 0, 'zero', 0);
  children.push(zero);
  await waitForRegistered(PORT + 100, 1);
  await expectServed(t, '2001:db8::1', PORT + 5, 'zero', 0);
  t.equal(await server.stop(), 0);

  const bound = spawnSync('python3', ['-c', 'import socket,os,sys; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0)); s.fileno() != 3 and os.dup2(s.fileno(), 3); os.set_inheritable(3, True); os.execv(sys.argv[1], sys.argv[1:])', SOCKETBOX, '-f', file], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  t.equal(bound.status, 1, 'refused at start-up');
  t.match(bound.stderr, `${file}:1:`);
  t.match(bound.stderr, 'incoming[0]: descriptor 3 is not listening; add "listen": true to listen on it');
});

t.test('a stop serves the backlog of the listeners socketbox bound, not of an inherited (`fd`) one', async (t) => {
  // One listener bound by socketbox, one inherited; no receiver, so what is accepted is refused and counted.
  const file = path.join(dir, 'drain.json');
  const mixed = { ...config(), incoming: [{ address: '::', port: PORT + 8 }, { fd: 3 }], rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } } };
  fs.writeFileSync(file, JSON.stringify(mixed));
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const inherited = await listenerToPass(PORT + 9);
  const server = new Child(
    spawn(SOCKETBOX, ['-f', file, '--no-fast-path'], { stdio: ['ignore', 'pipe', 'pipe', inherited.fd], env: { ...process.env, SOCKETBOX_TEST_CONTROL: '1' } }),
  );
  children.push(server);
  inherited.close();
  await waitFor(`socketbox to start; stderr: ${server.stderr}`, () => server.stderr.includes('listening on'), 15_000);
  // Each SIGURG ends the loop as a crash would; the restart delay doubles, leaving 1.6 s in which nothing accepts.
  for (const delay of [100, 200, 400, 800, 1600]) {
    server.proc.kill('SIGURG');
    await waitFor(`restart delay ${delay} ms; stderr: ${server.stderr}`, () => server.stderr.includes(`restarting it in ${delay} ms`), 10_000);
  }
  // The kernel completes these connections: they wait in the listeners' backlogs.
  const connected = (port: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const s = net.connect({ host: '2001:db8::1', port });
      s.on('connect', () => resolve());
      s.on('error', () => undefined);
      s.on('close', () => reject(new Error('closed before it was queued')));
    });
  await Promise.all([...Array<number>(4).fill(PORT + 8), ...Array<number>(3).fill(PORT + 9)].map(connected));
  t.equal(await server.stop(), 0, 'SIGTERM: exit 0');
  t.match(server.stderr, /stopped; accepted 4, delivered 0, refused 4 \(no_receiver 4\)/, 'the 4 waiting at the bound listener were taken (and refused: no receiver); the 3 at the inherited one were left');
});

t.test('under systemd socket activation: the `fd` listeners serve; a socket the config does not name is refused', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const file = path.join(dir, 'activated.json');
  const activated = {
    ...config({ slot1Uid: 0 }),
    incoming: [{ fd: 3 }, { fd: 4 }],
    rules: { _start: { type: 'rule', rules: [{ incoming_socket: 0, jump: 'o:0' }, { incoming_socket: 1, jump: 'o:1' }] } },
  };
  fs.writeFileSync(file, JSON.stringify(activated));
  const ports = [PORT + 6, PORT + 7];
  const server = startActivated({ listen: ports.map((p) => `[::]:${p}`), names: ['web', 'mail'] }, ['-f', file, '--metrics', String(PORT + 100)]);
  children.push(server);
  await waitForListening(ports[1]);
  // systemd-socket-activate starts socketbox on the first connection; with no receiver yet, that one is refused.
  await talk('2001:db8::1', ports[0], { localAddress: 'fd00:1::5', line: 'wake' }).catch(() => undefined);
  await waitFor(`socketbox to start; stderr: ${server.stderr}`, () => server.stderr.includes('listening on'), 15_000);
  const zero = startInetdP(api, 0, 'zero', 0);
  const one = startInetdP(api, 1, 'one', 0);
  children.push(zero, one);
  await waitForRegistered(PORT + 100, 2);
  await expectServed(t, '2001:db8::1', ports[0], 'zero', 0);
  await expectServed(t, '2001:db8::1', ports[1], 'one', 0);
  t.equal(await server.stop(), 0);
  // Almost always refused (no receiver yet); if a receiver was first, delivered. Never lost.
  const m = /accepted (\d+), delivered (\d+), refused (\d+)/.exec(server.stderr);
  t.same(m && [Number(m[1]), Number(m[2]) + Number(m[3])], [3, 3], 'the wake-up connection and the two served, each counted once');
  if (m && m[3] !== '0') t.match(server.stderr, 'refused 1 (no_receiver 1)', 'the wake-up connection found no receiver');

  const partial = path.join(dir, 'activated-partial.json');
  fs.writeFileSync(partial, JSON.stringify({ ...activated, incoming: [{ fd: 3 }], rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } } }));
  const refused = startActivated({ listen: ports.map((p) => `[::]:${p}`), names: ['web', 'mail'] }, ['-f', partial]);
  children.push(refused);
  await waitForListening(ports[1]);
  await talk('2001:db8::1', ports[0], { localAddress: 'fd00:1::5', line: 'wake' }).catch(() => undefined);
  t.equal(await refused.wait(15_000), 1, 'refused at start-up');
  t.match(refused.stderr, `${partial}: systemd passed fd 4 (mail), which no "incoming" entry names; its connections would never be accepted. Add {"fd": 4} to "incoming"`);
});

t.test('the daemon section drops privileges after the sockets are made', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const file = path.join(dir, 'g.json');
  const server = startJsonServer(file, { ...config(), daemon: { uid: NOBODY, gid: NOBODY, groups: [] } }, PORT + 100);
  children.push(server);
  await waitForListening(PORT);
  const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
  t.match(status, new RegExp(`\\nUid:\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}\\n`), 'runs as nobody');
  t.match(status, new RegExp(`\\nGid:\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}\\n`), 'in group nobody');
  t.match(status, /\nGroups:\s*\n/, 'with no supplementary groups');
  t.match(status, /\nNoNewPrivs:\s+1\n/, 'and no_new_privs');
  const zero = startInetdP(api, 0, 'zero', 0);
  children.push(zero);
  await waitForRegistered(PORT + 100, 1);
  await expectServed(t, '2001:db8::1', PORT, 'zero', 0);
});

t.test('a registered receiver that goes: every loop closes its duplicate at once, not at the slot\'s next connection', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const server = startJsonServer(path.join(dir, 'h.json'), config(), PORT + 100, ['--workers', '2']);
  children.push(server);
  await waitForListening(PORT);
  t.equal(unixSocketFdsAt(server.pid, api).length, 1, 'before any registration: the registration socket alone');
  const zero = startInetdP(api, 0, 'zero', 0);
  children.push(zero);
  await waitForRegistered(PORT + 100, 1);
  for (let i = 0; i < 4; i++) await expectServed(t, '2001:db8::1', PORT, 'zero', 0);
  const held = unixSocketFdsAt(server.pid, api).length;
  t.ok(held >= 3, `registered and used: the registration socket, the registrar's connection and ${held - 2} loop duplicate(s)`);
  zero.proc.kill('SIGKILL');
  await waitForRegistered(PORT + 100, 0);
  await waitFor(`the duplicates to be closed; held: ${unixSocketFdsAt(server.pid, api).length}`, () => unixSocketFdsAt(server.pid, api).length === 1, 5_000);
  t.pass('no descriptor of the gone receiver is left, with no connection routed to its slot since');
  t.equal((await talk('2001:db8::1', PORT)).greeting, null, 'the next connection to the slot is refused');
  const m = await scrape(PORT + 100);
  t.equal(m.get('socketbox_connections_refused_total{reason="no_receiver"}'), 1, 'as no_receiver');
});
