/**
 * Chaining (`-P NR:PATH`, docs/wire-protocol.md#registration): a classic socketbox registers as a slot at
 * a JSON-config socketbox and routes what arrives there with its own rules,
 * to its own receivers, which still see the true client addresses. When the
 * front server stops, the chained one ends with status 0. With -d the
 * daemon copy takes over the registration its parent made.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitForListening } from '../testkit/proc-tcp';
import { waitFor } from '../testkit/wait';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { startSocketbox } from '../testkit/socketbox';
import { startReceiver } from '../testkit/fd-tool';
import { talk } from './helpers/client';
import { scrape, startJsonServer, waitForRegistered } from './helpers/registration';

enterTestNetns([5, 6]);

const PORT = 8531;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-chain-'));
const sock = (name: string): string => path.join(dir, `${name}.sock`);
const TOOL = path.join(__dirname, 'helpers', 'registration_tool.py');

/** The front server: a JSON config on PORT that hands 2001:db8::/64 to slot 0 of its registration socket api. */
async function startFront(children: Child[], name: string, api: string): Promise<Child> {
  const front = startJsonServer(
    path.join(dir, `${name}.json`),
    {
      'socketbox-version': 1,
      incoming: [{ address: '::', port: PORT }],
      paths: [{ socket: api, mode: '0600' }],
      outgoing: [{ uid: 0, path_nr: 0 }],
      rules: { _start: { type: 'rule', rules: [{ l_ip: '2001:db8::/64', jump: 'o:0' }] } },
    },
    PORT + 100,
  );
  children.push(front);
  await waitForListening(PORT);
  return front;
}

t.test('socketbox -P routes what the front server hands it', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  for (const name of ['a', 'b']) children.push(await startReceiver(sock(name), name));
  const front = await startFront(children, 'front', sock('api'));

  const classic = path.join(dir, 'chained.conf');
  fs.writeFileSync(
    classic,
    ['max-rules:1', 'rule-set:0', 'size:4', `ip:2001:db8::1 jump-unix:${sock('a')}`, `ip:2001:db8::2 rip:fd00:1::6 jump-unix:${sock('b')}`, ''].join('\n'),
  );
  const chained = startSocketbox(['-P', `0:${sock('api')}`, '-f', classic, '--workers', '2', '--metrics', String(PORT + 101)]);
  children.push(chained);
  await waitForRegistered(PORT + 100, 1);

  const a = await talk('2001:db8::1', PORT, { localAddress: 'fd00:1::5', line: 'hello-a' });
  t.match(a.greeting, new RegExp(`^a local=\\[2001:db8::1\\]:${PORT} remote=\\[fd00:1::5\\]:\\d+`), 'reaches a, with the true addresses');
  t.equal(a.echo, 'a echo:hello-a', 'data flows both ways');
  const b = await talk('2001:db8::2', PORT, { localAddress: 'fd00:1::6', line: 'hello-b' });
  t.match(b.greeting, /^b local=\[2001:db8::2\]/, 'the chained rules match on the remote address too');
  const none = await talk('2001:db8::2', PORT, { localAddress: 'fd00:1::5' });
  t.equal(none.greeting, null, 'what the chained rules do not match is refused there');

  const front_ = await scrape(PORT + 100);
  const back = await scrape(PORT + 101);
  t.equal(front_.get('socketbox_connections_delivered_total{target="o:0"}'), 3, 'the front server delivered all three to the slot');
  t.equal(back.get('socketbox_connections_refused_total{reason="no_match"}'), 1, 'the chained server counted its refusal');
  t.equal(
    [...back].filter(([k]) => k.startsWith('socketbox_connections_delivered_total')).reduce((n, [, v]) => n + v, 0),
    2,
    'and delivered the other two',
  );

  t.equal(await front.stop(), 0, 'the front server stops');
  t.equal(await chained.wait(), 0, 'the chained server ends with status 0 when its registration closes');
  t.match(chained.stderr, /closed our registration/);
});

t.test('-P --source-rate: connections that arrive from the registration are limited by their true source', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(sock('a'), 'a'));
  const front = await startFront(children, 'front-rate', sock('api-rate'));
  const classic = path.join(dir, 'chained-rate.conf');
  fs.writeFileSync(classic, ['max-rules:1', 'rule-set:0', 'size:1', `ip:2001:db8::1 jump-unix:${sock('a')}`, ''].join('\n'));
  // A burst of 2 per address (/128), then one token per 1000 s.
  const chained = startSocketbox(['-P', `0:${sock('api-rate')}`, '--source-rate', '0.001:2/128', '-f', classic, '--metrics', String(PORT + 101)]);
  children.push(chained);
  await waitForRegistered(PORT + 100, 1);

  const greetings: Array<string | null> = [];
  for (let i = 0; i < 4; i++) greetings.push((await talk('2001:db8::1', PORT, { localAddress: 'fd00:1::5' })).greeting);
  t.same(greetings.map((g) => g !== null), [true, true, false, false], 'fd00:1::5: its burst of 2, then refused');
  t.match((await talk('2001:db8::1', PORT, { localAddress: 'fd00:1::6' })).greeting, /^a /, 'fd00:1::6, another source: served');
  const back = await scrape(PORT + 101);
  t.equal(back.get('socketbox_connections_refused_total{reason="rate_limited"}'), 2, 'the chained server counted 2 rate_limited');
  t.equal(back.get('socketbox_source_rate_entries'), 2, 'two sources: the clients, not the front server');
  t.equal(await front.stop(), 0, 'the front server stops');
  t.equal(await chained.wait(), 0, 'the chained server ends with status 0');
});

t.test('-P refuses to start when the registration is refused', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const front = startJsonServer(
    path.join(dir, 'front2.json'),
    {
      'socketbox-version': 1,
      incoming: [{ address: '::', port: PORT + 2 }],
      paths: [{ socket: sock('api2'), mode: '0600' }],
      outgoing: [{ uid: 0, path_nr: 0 }],
      rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } },
    },
    PORT + 102,
  );
  children.push(front);
  await waitForListening(PORT + 2);
  const chained = startSocketbox(['-P', `5:${sock('api2')}`, '-S', sock('a')]);
  children.push(chained);
  t.equal(await chained.wait(), 1, 'exit status 1');
  t.match(chained.stderr, /-P: cannot register as group 5 at .*api2\.sock: the registration server refused the registration/);
});

t.test('descriptors from the registration server are checked before use', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(sock('c'), 'c'));
  const fake = new Child(spawn('python3', [TOOL, 'upstream', sock('fake-api'), String(PORT + 10)], { stdio: ['pipe', 'pipe', 'pipe'] }));
  children.push(fake);
  await fake.waitForEvent((e) => e.ready === true, 10_000, 'the stand-in server');
  const chained = startSocketbox(['-P', `0:${sock('fake-api')}`, '-S', sock('c'), '--metrics', String(PORT + 103)]);
  children.push(chained);
  await fake.waitForEvent((e) => 'sent' in e, 15_000, 'the stand-in server to send its descriptors');
  const report = fake.events.find((e) => 'sent' in e) as { greeting: string; pipe: number };
  t.match(report.greeting, new RegExp(`^c local=\\[::1\\]:${PORT + 10} remote=\\[::1\\]:\\d+`), 'the one real connection was routed to its receiver');
  const m = await scrape(PORT + 103);
  t.equal(m.get('socketbox_upstream_descriptors_total{result="accepted"}'), 1, 'one descriptor accepted');
  t.equal(m.get('socketbox_upstream_descriptors_total{result="invalid"}'), 4, 'a pipe, a datagram socket, nothing, and a listening socket: refused');
  const fds = fs.readdirSync(`/proc/${chained.pid}/fd`).map((fd) => {
    try {
      return fs.readlinkSync(`/proc/${chained.pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
  t.notOk(fds.includes(`pipe:[${report.pipe}]`), 'the received pipe was closed');
  fake.proc.stdin?.end('close\n');
  t.equal(await chained.wait(), 0, 'status 0 when the registration closes');
});

t.test('-d -P: the daemon copy serves the registration its parent made', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(sock('d'), 'd'));
  const port = PORT + 3;
  const front = startJsonServer(
    path.join(dir, 'front-d.json'),
    {
      'socketbox-version': 1,
      incoming: [{ address: '::', port }],
      paths: [{ socket: sock('api-d'), mode: '0600' }],
      outgoing: [{ uid: 0, path_nr: 0 }],
      rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } },
    },
    PORT + 104,
  );
  children.push(front);
  await waitForListening(port);
  const parent = startSocketbox(['-d', '-P', `0:${sock('api-d')}`, '-S', sock('d')]);
  children.push(parent);
  t.equal(await parent.wait(), 0, `the parent exits 0 once the copy serves; stderr: ${parent.stderr}`);
  const pid = Number(/daemon running as pid (\d+)/.exec(parent.stdout)?.[1]);
  t.ok(pid > 0, 'and names the daemon');
  const gone = (): boolean => !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z';
  t.teardown(() => {
    if (pid > 0 && !gone()) process.kill(pid, 'SIGKILL');
  });
  await waitForRegistered(PORT + 104, 1);
  const r = await talk('2001:db8::1', port, { line: 'via-daemon' });
  t.equal(r.echo, 'd echo:via-daemon', 'a connection to the front server reaches the receiver through the daemon');
  t.equal(await front.stop(), 0, 'the front server stops');
  await waitFor('the daemon to end when its registration closes', gone, 10_000);
});
