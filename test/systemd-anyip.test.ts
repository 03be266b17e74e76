/**
 * systemd/socketbox-anyip@.service for real, in a private network namespace
 * with no route for the prefixes: its ExecStart= (with %I as systemd expands
 * it from an instance named by `systemd-escape PREFIX`) makes every address
 * of the prefix local, so a listener on the wildcard accepts a connection to
 * any of them and sees the address dialled; running it twice is harmless
 * (route replace); ExecStop= removes the route again. An IPv6 and an IPv4
 * prefix.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { projectRoot } from '../testkit/project-root';
import { enterTestNetns } from '../testkit/netns';
import { execCommand, unitSection } from './helpers/unit-file';

enterTestNetns([], { anyIp: false });

const UNIT = path.join(projectRoot, 'systemd', 'socketbox-anyip@.service');

/** %I of an instance: the instance name unescaped, as systemd does. */
function instancePrefix(prefix: string): string {
  const instance = execFileSync('systemd-escape', [prefix], { encoding: 'utf8' }).trim();
  return execFileSync('systemd-escape', ['--unescape', instance], { encoding: 'utf8' }).trim();
}

/** Runs the unit's ExecStart= or ExecStop= lines as systemd would for the instance of PREFIX. */
function runUnit(key: 'ExecStart' | 'ExecStop', prefix: string): void {
  for (const line of unitSection(UNIT, 'Service').get(key) ?? []) {
    const { argv, ignoreFailure } = execCommand(line.split('%I').join(instancePrefix(prefix)));
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0 && !ignoreFailure) throw new Error(`${key}=${line}: exit ${r.status}: ${r.stderr}`);
  }
}

/** The local routes of PREFIX (ip needs the family to show them). */
function localRoutes(prefix: string): string {
  return execFileSync('ip', [prefix.includes(':') ? '-6' : '-4', 'route', 'show', 'table', 'local', prefix], { encoding: 'utf8' }).trim();
}

/** Connects to ADDRESS:PORT; resolves with the local address the server's socket had, or the error code. */
function dial(server: net.Server, address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const accepted = (s: net.Socket): void => {
      resolve(String(s.localAddress).replace(/^::ffff:/, ''));
      s.destroy();
    };
    const failed = (why: string): void => {
      server.off('connection', accepted);
      resolve(why);
    };
    server.once('connection', accepted);
    const c = net.connect({ host: address, port, timeout: 5_000 });
    c.on('error', (err: NodeJS.ErrnoException) => failed(err.code ?? 'error'));
    c.on('timeout', () => {
      c.destroy();
      failed('timeout');
    });
    c.on('connect', () => c.end());
  });
}

t.test('socketbox-anyip@ routes a whole prefix to the wildcard listener, and stop removes it', async (t) => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: '::', port: 0 }, resolve));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;

  for (const [prefix, addresses] of [
    ['2001:db8::/64', ['2001:db8::1', '2001:db8::beef:42']],
    ['192.0.2.0/24', ['192.0.2.7', '192.0.2.200']],
  ] as const) {
    t.not(await dial(server, addresses[0], port), addresses[0], `${prefix}: not local before the unit runs`);
    runUnit('ExecStart', prefix);
    runUnit('ExecStart', prefix);
    t.match(localRoutes(prefix), /^local \S+ dev lo\b/, `${prefix}: a local route on lo (started twice)`);
    for (const address of addresses) t.equal(await dial(server, address, port), address, `${prefix}: ${address} reaches [::]:${port} as the address dialled`);
    runUnit('ExecStop', prefix);
    t.equal(localRoutes(prefix), '', `${prefix}: stop removes the route`);
    t.not(await dial(server, addresses[1], port), addresses[1], `${prefix}: not local after stop`);
    runUnit('ExecStop', prefix);
    t.pass(`${prefix}: a second stop is harmless`);
  }
});
