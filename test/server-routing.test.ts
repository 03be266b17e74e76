/**
 * End to end, in a private network namespace with AnyIP: connections to
 * different local addresses, ports and from different remote addresses land
 * at the receivers the classic config names; the received descriptor is the
 * client's connection (data flows both ways); fail, no match and loops close it.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { startSocketbox } from '../testkit/socketbox';
import { startReceiver } from '../testkit/fd-tool';
import { talk } from './helpers/client';

enterTestNetns([5, 6]);

const PORT = 8301;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-routing-'));
const sock = (name: string): string => path.join(dir, `${name}.sock`);

const config = `# routing test
max-rules:4
max-maps:1
rule-set:0
size:20
ip:2001:db8::1 jump-unix:${sock('a')}
ip:2001:db8::2 port:${PORT + 1} jump-unix:${sock('wrong-port')}
ip:2001:db8::2 port:${PORT} jump-unix:${sock('b')}
ip:2001:db8::3 rip:fd00:1::5 jump-unix:${sock('c')}
ip:2001:db8::3 jump-unix:${sock('d')}
ip:2001:db8::10/124 jump-map:0
ip:2001:db8::20 jump-rule:1
ip:2001:db8::30 fail
ip:2001:db8::40 jump-rule:2
ip:::ffff:127.0.0.5 jump-unix:${sock('v4')}
ip:2001:db8::50 rport:40000 jump-unix:${sock('rport')}
ip:2001:db8::a0/ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0 jump-unix:${sock('e')}
rule-set:1
default jump-unix:${sock('f')}
rule-set:2
default jump-rule:3
rule-set:3
default jump-rule:2
map-set:0
size:10
match-lip:128
ip:2001:db8::11 jump-unix:${sock('m1')}
ip:2001:db8::12 jump-unix:${sock('m2')}
default fail
`;

t.test('classic config routes every connection as written', async (t) => {
  const configFile = path.join(dir, 'socketbox.conf');
  fs.writeFileSync(configFile, config);
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'm1', 'm2', 'v4', 'rport', 'wrong-port']) {
    children.push(await startReceiver(sock(name), name));
  }
  const server = startSocketbox(['-f', configFile, '-l', '::', '-p', String(PORT)]);
  children.push(server);
  await waitForListening(PORT);

  const expectDelivered = async (host: string, receiver: string, opts: { localAddress?: string; localPort?: number } = {}) => {
    const r = await talk(host, PORT, { ...opts, line: `to-${receiver}` });
    const local = host.includes(':') ? host : `::ffff:${host}`;
    t.match(r.greeting, new RegExp(`^${receiver} local=\\[${local}\\]:${PORT} remote=\\[`), `[${host}] reaches ${receiver}`);
    t.equal(r.echo, `${receiver} echo:to-${receiver}`, `data flows both ways through ${receiver}`);
    return r;
  };
  const expectClosed = async (host: string, why: string, opts: { localAddress?: string; localPort?: number } = {}) => {
    const r = await talk(host, PORT, opts);
    t.equal(r.greeting, null, `[${host}] is closed (${why})`);
  };

  const a = await expectDelivered('2001:db8::1', 'a', { localAddress: 'fd00:1::5' });
  t.match(a.greeting, /remote=\[fd00:1::5\]:\d+/, 'the receiver sees the true client address');
  await expectDelivered('2001:db8::2', 'b');
  await expectDelivered('2001:db8::3', 'c', { localAddress: 'fd00:1::5' });
  await expectDelivered('2001:db8::3', 'd', { localAddress: 'fd00:1::6' });
  await expectDelivered('2001:db8::11', 'm1');
  await expectDelivered('2001:db8::12', 'm2');
  await expectClosed('2001:db8::13', 'map default fail');
  await expectClosed('2001:db8::1f', 'inside the /124 CIDR, map default fail');
  await expectClosed('2001:db8::2f', 'outside the /124 CIDR, no match');
  await expectDelivered('2001:db8::20', 'f');
  await expectClosed('2001:db8::30', 'fail');
  await expectClosed('2001:db8::40', 'loop');
  await expectClosed('2001:db8::99', 'no match');
  await expectDelivered('127.0.0.5', 'v4').then((r) =>
    t.match(r.greeting, /local=\[::ffff:127\.0\.0\.5\]/, 'IPv4 clients match as IPv4-mapped'),
  );
  const rp = await expectDelivered('2001:db8::50', 'rport', { localPort: 40000 });
  t.match(rp.greeting, /remote=\[[^\]]+\]:40000 /, 'rport matched the client port');
  await expectClosed('2001:db8::50', 'other remote port, no match', { localPort: 40001 });
  await expectDelivered('2001:db8::a7', 'e');
  await expectClosed('2001:db8::b7', 'outside the mask written as an address');

  t.equal(children.find((c) => c.events.some((e) => e.name === 'wrong-port'))?.events.length ?? 0, 0, 'a port condition that does not hold is skipped');
  t.equal(await server.stop(), 0, 'SIGTERM stops the server with status 0');
  t.match(server.stderr, 'accepted 18, delivered 10, refused 8 (no_match 4, fail 3, loop 1)', 'every connection is accounted for');
  for (const c of children.slice(0, -1)) {
    for (const e of c.events.filter((e) => e.name)) t.equal(e.fds, 1, `${String(e.name)} got exactly one descriptor`);
  }
});

t.test('a config error is reported with file, line and column, and nothing is served', async (t) => {
  const bad = path.join(dir, 'bad.conf');
  fs.writeFileSync(bad, 'max-rules:1\nrule-set:0\nip:2001:db8::1 jump-unix:/x\n');
  const server = startSocketbox(['-f', bad, '-l', '::', '-p', String(PORT + 2)]);
  t.equal(await server.wait(), 1, 'exit status 1');
  t.match(server.stderr, `${bad}:3:1: `, 'the message names file:line:column');
  t.match(server.stderr, /size/, 'and the reason (entry before size:)');
});

t.test('rules on the remote end only: routed without reading the local end, receivers still see it', async (t) => {
  // Such a table needs no getsockname() per connection; the decision must not change.
  const configFile = path.join(dir, 'remote-only.conf');
  fs.writeFileSync(configFile, ['max-rules:1', 'rule-set:0', 'size:2', `rip:fd00:1::5 jump-unix:${sock('r5')}`, `default jump-unix:${sock('rx')}`, ''].join('\n'));
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  for (const name of ['r5', 'rx']) children.push(await startReceiver(sock(name), name));
  const server = startSocketbox(['-f', configFile, '-l', '::', '-p', String(PORT + 3)]);
  children.push(server);
  await waitForListening(PORT + 3);
  const five = await talk('2001:db8::7', PORT + 3, { localAddress: 'fd00:1::5' });
  t.match(five.greeting, new RegExp(`^r5 local=\\[2001:db8::7\\]:${PORT + 3} remote=\\[fd00:1::5\\]:`), 'by the remote address, to r5');
  const six = await talk('2001:db8::8', PORT + 3, { localAddress: 'fd00:1::6' });
  t.match(six.greeting, new RegExp(`^rx local=\\[2001:db8::8\\]:${PORT + 3} remote=\\[fd00:1::6\\]:`), 'anything else to the default');
});
