/**
 * Tests and load runs happen in a private network namespace: the program
 * re-runs itself under `unshare -n` (root is enough), brings loopback up and
 * makes whole prefixes local (AnyIP), so 2001:db8::/64 serves as server
 * addresses and fd00:1::/64 as client addresses without touching the host.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

const MARK = 'SOCKETBOX_PRIVATE_NETNS';

export const SERVER_PREFIX = '2001:db8::';
export const CLIENT_PREFIX = 'fd00:1::';

/** `ip ARGS...`, its errors passed through. */
export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Outside the namespace: re-executes this program inside a new one and exits
 * with its status (output passes straight through). Inside: configures the
 * namespace and returns. `clientAddresses` are host parts under fd00:1::
 * made into real addresses, so ordinary sockets can bind them as a source.
 * `anyIp: false` leaves SERVER_PREFIX unrouted (for tests that route it otherwise).
 */
export function enterPrivateNetns(clientAddresses: number[] = [], opts: { anyIp?: boolean } = {}): void {
  if (process.env[MARK] !== '1') {
    const r = spawnSync('unshare', ['-n', '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, [MARK]: '1' },
    });
    if (r.error) throw r.error;
    process.exit(r.status ?? 1);
  }
  ip('link', 'set', 'lo', 'up');
  if (opts.anyIp !== false) ip('-6', 'route', 'add', 'local', `${SERVER_PREFIX}/64`, 'dev', 'lo');
  // Load runs open tens of thousands of short connections: give them ports.
  fs.writeFileSync('/proc/sys/net/ipv4/ip_local_port_range', '10000 65000');
  fs.writeFileSync('/proc/sys/net/ipv4/tcp_tw_reuse', '1');
  for (const n of clientAddresses) addLocalAddress(`${CLIENT_PREFIX}${n.toString(16)}`);
}

/**
 * What a test file calls first thing: its private namespace, with client addresses fd00:1::5,
 * ::6, ::7 by default. `anyIp: false`: 2001:db8::/64 is not made local (the test routes it itself).
 */
export function enterTestNetns(clientAddresses: number[] = [5, 6, 7], opts: { anyIp?: boolean } = {}): void {
  enterPrivateNetns(clientAddresses, opts);
}

/** Makes an IPv6 address the namespace's own (once inside it): clients may bind it, servers be dialled at it. */
export function addLocalAddress(address: string): void {
  ip('-6', 'addr', 'add', `${address}/128`, 'dev', 'lo', 'nodad');
}
