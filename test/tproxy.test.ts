/**
 * Every TCP port of a prefix through one socketbox listener, with TPROXY, end to
 * end: the test's network namespace is the server. It runs the commands of
 * systemd/socketbox-tproxy.service (which load examples/tproxy.nft as it is, with
 * nft, and add the policy routing); socketbox listens with -t where the ruleset
 * says. Clients live in a second namespace behind a veth pair, so their packets
 * pass prerouting as they would from another host. The prefix is not local on the
 * server (no AnyIP route): only the ruleset brings connections to socketbox.
 * Several ports on several addresses reach their receivers by `port:` rules,
 * address rules and a `-U` `#//P_` template; each receiver runs socket-query on
 * the connection, and the client reads back the address and port it dialled.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../testkit/project-root';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { PeerNetns, startPeerNetns } from '../testkit/peer-netns';
import { Child, stopAll } from '../testkit/child';
import { startSocketbox } from '../testkit/socketbox';
import { InetdProcess, startInetd } from './helpers/inetd-process';
import { binPath } from '../testkit/project-root';
import { execCommand, nftDefines, unitSection } from './helpers/unit-file';

enterTestNetns([], { anyIp: false });

const RULESET = path.join(projectRoot, 'examples', 'tproxy.nft');
const UNIT = path.join(projectRoot, 'systemd', 'socketbox-tproxy.service');
const INSTALLED_RULESET = '/etc/socketbox/tproxy.nft';
const DIAL = path.join(__dirname, 'helpers', 'dial.py');
const README = path.join(projectRoot, 'README.md');

const defines = nftDefines(RULESET);
const PREFIX = defines.get('SOCKETBOX_PREFIX') ?? '';
const LISTENER_ADDR = defines.get('SOCKETBOX_LISTENER_ADDR') ?? '';
const LISTENER_PORT = Number(defines.get('SOCKETBOX_LISTENER_PORT'));
const MARK = Number(defines.get('SOCKETBOX_MARK'));
/** The prefix's first 64 bits ("2001:db8::"): host parts are appended to it. */
const BASE = /^([0-9a-f:]+::)\/64$/.exec(PREFIX)?.[1] ?? '';

/** This namespace's end of the veth pair (the server), and the client namespace's. */
const SERVER_LINK = 'fd00:7::1';
const CLIENT_LINK = 'fd00:7::2';

/** socket-query's form of an address: eight groups of four hex digits. */
function fullAddress(addr: string): string {
  const [head, tail] = addr.split('::');
  const h = head ? head.split(':') : [];
  const tl = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

/** Runs the unit's ExecStart= or ExecStop= lines as systemd would, on the example ruleset. */
function runUnit(key: 'ExecStart' | 'ExecStop'): void {
  for (const line of unitSection(UNIT, 'Service').get(key) ?? []) {
    const { argv, ignoreFailure } = execCommand(line.split(INSTALLED_RULESET).join(RULESET));
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0 && !ignoreFailure) throw new Error(`${key}=${line}: exit ${r.status}: ${r.stderr}`);
  }
}

/** The README's ip6tables equivalent: the commands of the code block in its TPROXY section that uses ip6tables. */
function readmeIp6tables(): string[][] {
  const text = fs.readFileSync(README, 'utf8');
  const start = text.indexOf('## Every port through one socket (TPROXY)');
  const section = text.slice(start, text.indexOf('\n## ', start + 1));
  const block = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.includes('ip6tables'));
  return (block ?? '').split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.trim().split(/\s+/));
}

function run(cmd: string, ...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Packets counted by the ruleset's two rules. */
function counters(): { established: number; diverted: number } {
  const text = run('nft', 'list', 'chain', 'ip6', 'socketbox_tproxy', 'prerouting').out;
  const count = (what: RegExp): number => Number(text.split('\n').find((l) => what.test(l))?.match(/counter packets (\d+)/)?.[1] ?? NaN);
  return { established: count(/socket transparent 1/), diverted: count(/ tproxy to /) };
}

interface Dial {
  i: number;
  host: string;
  port: number;
  source?: [string, number];
  reply?: string;
  error?: string;
  connected?: boolean;
}

/** Dials from the client namespace; one result per dial, in plan order. */
async function dialFromPeer(peer: PeerNetns, dials: Array<{ host: string; port: number }>, parallel = 4): Promise<Dial[]> {
  const client = new Child(peer.spawn('python3', [DIAL, JSON.stringify({ timeout: 5, parallel, dials })]));
  const code = await client.wait(60_000);
  if (code !== 0) throw new Error(`dial.py exited ${code}: ${client.stderr}`);
  return (client.events as unknown as Dial[]).sort((a, b) => a.i - b.i);
}

t.test('the example ruleset has what the test and the units rely on', async (t) => {
  t.match(PREFIX, /^[0-9a-f:]+::\/64$/, 'SOCKETBOX_PREFIX is an IPv6 /64');
  t.equal(LISTENER_ADDR, '::1', 'the listener is on loopback: nobody reaches it but through TPROXY');
  t.ok(LISTENER_PORT > 0 && LISTENER_PORT < 65536, 'SOCKETBOX_LISTENER_PORT is a port');
  t.equal(MARK, 1, 'SOCKETBOX_MARK is the fwmark the unit routes (fwmark 1 lookup 100)');
});

t.test('every port of the prefix reaches its receiver through one TPROXY listener', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-tproxy-'));
  const children: Child[] = [];
  const receivers: InetdProcess[] = [];
  const peers: PeerNetns[] = [];
  t.teardown(async () => {
    await stopAll(children);
    await Promise.all(receivers.map((r) => r.stop()));
    for (const peer of peers) await peer.close();
    runUnit('ExecStop');
    run('ip6tables', '-t', 'mangle', '-F');
    run('ip6tables', '-t', 'mangle', '-X', 'SOCKETBOX_DIVERT');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // The unit's commands, twice: a start after a start that was never stopped
  // (a crash, a manual load) must not pile up rules.
  runUnit('ExecStart');
  runUnit('ExecStart');
  const mark = `meta mark set 0x${MARK.toString(16).padStart(8, '0')}`;
  const chain = run('nft', 'list', 'chain', 'ip6', 'socketbox_tproxy', 'prerouting').out;
  t.equal(chain.split('\n').filter((l) => / tproxy to /.test(l)).length, 1, 'nft loaded the tproxy rule once');
  t.match(chain, `tproxy to [${LISTENER_ADDR}]:${LISTENER_PORT} ${mark} counter`, 'to the listener, marked');
  t.match(chain, `socket transparent 1 ${mark} counter`, 'with the socket match for established flows');
  const rules = run('ip', '-6', 'rule', 'show').out.split('\n').filter((l) => /fwmark 0x1 lookup 100/.test(l));
  t.equal(rules.length, 1, 'one policy routing rule: fwmark 1 -> table 100');
  t.match(run('ip', '-6', 'route', 'show', 'table', '100').out, /^local (default|::\/0) dev lo/m, 'table 100 makes everything local');
  t.not(run('ip', '-6', 'route', 'get', `${BASE}a`).status, 0, 'the prefix itself is not routed here');
  t.match(run('ip', '-6', 'route', 'get', `${BASE}a`, 'mark', String(MARK)).out, /^local .* table 100/m, 'marked, it is local');

  // Not path.join: it would fold the template's "//".
  const sock = (name: string): string => `${dir}/${name}.sock`;
  const config = path.join(dir, 'socketbox.conf');
  fs.writeFileSync(config, [
    'max-rules:1',
    'rule-set:0',
    'size:4',
    `ip:${BASE}b port:443 jump-unix:${sock('https-b')}`,
    `port:22 jump-unix:${sock('ssh')}`,
    `port:443 jump-unix:${sock('https')}`,
    `ip:${PREFIX} jump-unix:${sock('svc-#//P_')}`,
    '',
  ].join('\n'));
  // Each receiver answers every connection with its name and socket-query's
  // "[local]:port [remote]:port", run on the connection itself (stdin).
  const names = ['https-b', 'ssh', 'https', 'svc-00080', 'svc-08080', 'svc-50000'];
  for (const name of names) {
    receivers.push(await startInetd(sock(name), ['/bin/sh', '-c', 'printf "%s " "$0" && exec "$1"', name, binPath('socket-query')]));
  }
  const server = startSocketbox(['-t', '-U', '-l', LISTENER_ADDR, '-p', String(LISTENER_PORT), '-f', config]);
  children.push(server);
  await waitForListening(LISTENER_PORT);
  const peer = await startPeerNetns({ name: 'tpx', hereAddress: SERVER_LINK, peerAddress: CLIENT_LINK, routes: [PREFIX] });
  peers.push(peer);

  const A = `${BASE}a`;
  const B = `${BASE}b`;
  const C = `${BASE}ffff:1`;
  const expected: Array<{ host: string; port: number; receiver: string | null }> = [
    { host: A, port: 22, receiver: 'ssh' }, // port: rule
    { host: A, port: 80, receiver: 'svc-00080' }, // -U template
    { host: A, port: 443, receiver: 'https' }, // port: rule
    { host: B, port: 443, receiver: 'https-b' }, // address and port rule first
    { host: B, port: 8080, receiver: 'svc-08080' },
    { host: C, port: 50000, receiver: 'svc-50000' }, // a high port
    { host: A, port: 25, receiver: null }, // the template names a socket nobody bound
  ];
  const ROUNDS = 3;
  const plan = Array.from({ length: ROUNDS }, () => expected).flat();
  const results = await dialFromPeer(peer, plan);
  t.equal(results.length, plan.length, `${plan.length} dials reported`);

  const perPort = new Map<number, number>();
  const perReceiver = new Map<string, number>();
  for (const [i, d] of results.entries()) {
    const want = plan[i];
    const what = `[${want.host}]:${want.port}`;
    if (want.receiver === null) {
      // Reset by socketbox (target_missing), possibly before connect() returned.
      t.ok(!d.reply && (d.error === undefined || d.error === 'ECONNRESET'), `${what}: closed without a receiver (${d.error ?? 'EOF'})`);
      continue;
    }
    t.notOk(d.error, `${what}: no error`);
    const [source, sourcePort] = d.source ?? ['', 0];
    t.equal(source, CLIENT_LINK, `${what}: dialled from the client namespace`);
    t.equal(
      d.reply,
      `${want.receiver} [${fullAddress(want.host)}]:${want.port} [${fullAddress(CLIENT_LINK)}]:${sourcePort}\n`,
      `${what}: reached ${want.receiver}, whose socket-query sees the dialled address and port and the client`,
    );
    if (d.reply?.startsWith(`${want.receiver} `)) {
      perPort.set(want.port, (perPort.get(want.port) ?? 0) + 1);
      perReceiver.set(want.receiver, (perReceiver.get(want.receiver) ?? 0) + 1);
    }
  }
  t.same(Object.fromEntries(perPort), { 22: 3, 80: 3, 443: 6, 8080: 3, 50000: 3 }, 'connections answered per dialled port');
  t.same(Object.fromEntries(perReceiver), Object.fromEntries(names.map((n) => [n, ROUNDS])), 'connections answered per receiver');
  t.comment(`connections per port: ${[...perPort].map(([p, n]) => `${p}: ${n}`).join(', ')}; per receiver: ${[...perReceiver].map(([r, n]) => `${r}: ${n}`).join(', ')}`);

  const c = counters();
  t.ok(c.diverted >= plan.length, `the tproxy rule took every new connection (${c.diverted} packets for ${plan.length} connections)`);
  t.ok(c.established > 0, `the socket match took their later packets (${c.established} packets)`);
  t.comment(`nft counters: tproxy rule ${c.diverted} packets, socket match ${c.established} packets`);

  // The unit's stop removes the ruleset and the routing: the same dial no longer
  // reaches socketbox, which still listens.
  runUnit('ExecStop');
  t.equal(run('nft', 'list', 'tables').out.includes('socketbox_tproxy'), false, 'ExecStop deleted the table');
  t.equal(run('ip', '-6', 'rule', 'show').out.includes('fwmark 0x1'), false, 'and the policy routing rule');
  t.equal(run('ip', '-6', 'route', 'show', 'table', '100').out.trim(), '', 'and the local route of table 100');
  const [after] = await dialFromPeer(peer, [{ host: A, port: 22 }]);
  t.equal(after.connected, false, `without the ruleset [${A}]:22 is not reached (${after.error})`);
  t.match(after.error, /^(ENETUNREACH|EHOSTUNREACH)$/, 'the prefix is unreachable: it is not routed to this host otherwise');

  // The README's ip6tables lines (with the same policy routing) do the same.
  const ip6tables = readmeIp6tables();
  t.ok(ip6tables.filter((argv) => argv[0] === 'ip6tables').length >= 2, 'the README shows the ip6tables lines');
  for (const argv of ip6tables) {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
    t.equal(r.status, 0, `${argv.join(' ')}${r.status === 0 ? '' : `: ${r.stderr}`}`);
  }
  const viaIptables = [
    { host: A, port: 22, receiver: 'ssh' },
    { host: C, port: 8080, receiver: 'svc-08080' },
  ];
  for (const [i, d] of (await dialFromPeer(peer, viaIptables)).entries()) {
    const want = viaIptables[i];
    t.equal(
      d.reply,
      `${want.receiver} [${fullAddress(want.host)}]:${want.port} [${fullAddress(CLIENT_LINK)}]:${d.source?.[1]}\n`,
      `ip6tables: [${want.host}]:${want.port} reached ${want.receiver}, which sees the dialled address and port`,
    );
  }
  const tproxyLine = run('ip6tables', '-t', 'mangle', '-L', 'PREROUTING', '-v', '-x', '-n').out.split('\n').find((l) => /TPROXY redirect/.test(l));
  const viaTarget = Number(tproxyLine?.trim().split(/\s+/)[0]);
  t.ok(viaTarget >= viaIptables.length, `the TPROXY target took each new connection (${viaTarget} packets for ${viaIptables.length})`);
  run('ip6tables', '-t', 'mangle', '-F');
  run('ip6tables', '-t', 'mangle', '-X', 'SOCKETBOX_DIVERT');
  runUnit('ExecStop');

  t.equal(await server.stop(), 0, 'socketbox stops with status 0');
  const refused = ROUNDS; // port 25, once a round
  const accepted = plan.length + viaIptables.length;
  t.match(
    server.stderr,
    `accepted ${accepted}, delivered ${accepted - refused}, refused ${refused} (target_missing ${refused})`,
    'socketbox accounts for every connection TPROXY brought, and for nothing else',
  );
});
