// socketbox-relay's command line: every flag of its usage text parses to what the native relay
// gets, and mistakes are usage errors (status 2) that say what is wrong.
import t from 'tap';
import { UsageError } from '../src/cli/usage-error';
import { addressBytes, ipv6Bytes } from '../src/relay/ipv6-bytes';
import { parseRelayOptions, type RelayOptions } from '../src/relay/relay-options';
import { runRelay } from './helpers/relay-process';

const interfaces: Record<string, number> = { lo: 1, eth0: 2 };
const parse = (...args: string[]): RelayOptions => parseRelayOptions(args, (name) => interfaces[name] ?? 0);
const hex = (b: Buffer | null): string | null => (b ? b.toString('hex') : null);

t.test('IPv6 text to bytes', async (t) => {
  t.equal(hex(ipv6Bytes('::1')), '00000000000000000000000000000001');
  t.equal(hex(ipv6Bytes('::')), '00000000000000000000000000000000');
  t.equal(hex(ipv6Bytes('64:ff9b::7f00:5')), '0064ff9b00000000000000007f000005');
  t.equal(hex(ipv6Bytes('::ffff:127.0.0.5')), '00000000000000000000ffff7f000005');
  t.equal(hex(ipv6Bytes('2001:db8:1:2:3:4:5:6')), '20010db8000100020003000400050006');
  t.equal(hex(ipv6Bytes('fe80::1:2')), 'fe800000000000000000000000010002');
  t.equal(hex(addressBytes('127.0.0.1')), '00000000000000000000ffff7f000001', 'IPv4 becomes IPv4-mapped');
  t.equal(hex(addressBytes('[::1]')), '00000000000000000000000000000001', 'brackets allowed');
  for (const bad of ['', '1::2::3', 'fe80::1%lo', 'example.com', '::g', '1.2.3']) t.equal(ipv6Bytes(bad), null, bad);
});

t.test('defaults: fd 0 listening, [::1]:80, no PROXY header, logging on', async (t) => {
  const o = parse();
  t.same(o.source, { kind: 'listen', fd: 0 });
  t.match(o.target, { kind: 'tcp', port: 80, scopeId: 0 });
  t.equal(hex((o.target as { address: Buffer }).address), '00000000000000000000000000000001');
  t.equal(o.nat64, null);
  t.equal(o.proxyVersion, 0);
  t.equal(o.connectTimeoutMs, 10_000);
  t.equal(o.idleTimeoutMs, 5 * 60_000, 'idle connections are closed after 5 minutes');
  t.equal(o.quiet, false);
});

t.test('sources: -s PATH, -l FD, -l FD -e, -e alone (fd 0)', async (t) => {
  t.same(parse('-s', '/run/r.sock').source, { kind: 'bind', path: '/run/r.sock' });
  t.same(parse('-s', '@abstract').source, { kind: 'bind', path: '@abstract' });
  t.same(parse('-l', '3').source, { kind: 'listen', fd: 3 });
  t.same(parse('-l3', '-e').source, { kind: 'receive', fd: 3 });
  t.same(parse('-e').source, { kind: 'receive', fd: 0 });
});

t.test('targets: -c/-p/-I/-n and -u', async (t) => {
  const o = parse('-c', '::ffff:127.0.0.5', '-p', '8080', '-I', 'eth0');
  t.match(o.target, { kind: 'tcp', port: 8080, scopeId: 2 });
  t.equal(hex((o.target as { address: Buffer }).address), '00000000000000000000ffff7f000005');
  t.match(parse('-c', 'fe80::1', '-n', '7').target, { scopeId: 7 });
  t.same(parse('-u', '@backend').target, { kind: 'unix', path: '@backend' });
  t.same(parse('-u', '/run/b.sock').target, { kind: 'unix', path: '/run/b.sock' });
});

t.test('NAT64: prefix default and -P, -x, base address, -p 0', async (t) => {
  const o = parse('-N');
  t.equal(hex(o.nat64!.prefix), '0064ff9b000000000000000000000000');
  t.equal(o.nat64!.wide, false);
  t.equal(hex((o.target as { address: Buffer }).address), '00000000000000000000ffff00000000', 'NAT64 base defaults to ::ffff:0.0.0.0');
  t.equal(hex(parse('-N', '-P', '2001:db8:64::/96').nat64!.prefix), '20010db8006400000000000000000000');
  const wide = parse('-N', '-x', '-P', '2001:db8:1:2::/64', '-c', '::', '-p', '0');
  t.same(wide.nat64!.wide, true);
  t.equal(hex(wide.nat64!.prefix), '20010db8000100020000000000000000');
  t.match(wide.target, { kind: 'tcp', port: 0 });
  t.equal(hex(parse('-N', '-P', '64:ff9b::1:2:3').nat64!.prefix), '0064ff9b000000000000000100000000', 'bits past /96 ignored');
  t.same(parse('-N', '-u', '/run/v4').target, { kind: 'unix', path: '/run/v4' });
});

t.test('PROXY headers, timeouts, limits, quiet, help', async (t) => {
  t.equal(parse('-i').proxyVersion, 1);
  t.equal(parse('-2').proxyVersion, 2);
  t.equal(parse('--proxy-v2').proxyVersion, 2);
  t.equal(parse('-T', '250').connectTimeoutMs, 250);
  t.equal(parse('--idle-timeout', '300ms').idleTimeoutMs, 300);
  t.equal(parse('--idle-timeout=90s').idleTimeoutMs, 90_000);
  t.equal(parse('--idle-timeout', '600').idleTimeoutMs, 600_000, 'a bare number is seconds');
  t.equal(parse('--idle-timeout', '0').idleTimeoutMs, 0, '0 = never');
  t.equal(parse('-C', 'reno').congestion, 'reno');
  t.equal(parse().congestion, null);
  t.equal(parse('-m', '5').maxConnections, 5);
  t.equal(parse('-q').quiet, true);
  t.equal(parse('--help').help, true);
  t.equal(parse('-h').help, true);
});

t.test('usage errors say what is wrong', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['-p', '70000'], /-p "70000": expected a whole number from 0 to 65535/],
    [['-p', '80x'], /-p "80x"/],
    [['-p', '0'], /-p 0 .* only makes sense with -N/],
    [['-c', 'nonsense'], /-c nonsense: not an IP address/],
    [['-c', 'fe80::1%lo'], /not an IP address/],
    [['-I', 'nosuch0'], /-I nosuch0: no such network interface/],
    [['-I', 'lo', '-n', '1'], /-I and -n/],
    [['-s', '/a', '-l', '3'], /-s and -l/],
    [['-s', '/a', '-e'], /-e goes with -l/],
    [['-u', '/a', '-c', '::1'], /-u and -c/],
    [['-u', '/a', '-p', '81'], /-p is for TCP backends/],
    [['-i', '-2'], /-i and -2/],
    [['-P', '64:ff9b::'], /-P .* needs -N/],
    [['-x'], /-x .* needs -N/],
    [['-N', '-x', '-u', '/a'], /-x is for TCP backends/],
    [['-N', '-P', '64:ff9b::/64'], /prefix length is 96/],
    [['-N', '-x', '-P', '64:ff9b::/96'], /prefix length is 64 with -x/],
    [['-N', '-P', 'zz::'], /not an IPv6 prefix/],
    [['-u', '/' + 'a'.repeat(107)], /at most 107 bytes/],
    [['-N', '-u', '/' + 'a'.repeat(98)], /at most 98 bytes here \(NAT64 adds/],
    [['-s', '@'], /socket path is empty/],
    [['-l', '-1'], /-l "-1"/],
    [['-T', '0'], /-T "0"/],
    [['--idle-timeout', '5m'], /--idle-timeout: expected a duration like 2s or 500ms, got '5m'/],
    [['--idle-timeout', '-1'], /--idle-timeout: expected a duration/],
    [['--idle-timeout', '2d'], /--idle-timeout: expected a duration/],
    [['--idle-timeout', '86401'], /--idle-timeout: 86401 is out of range \(at most 1 day\)/],
    [['-C', 'no such'], /-C "no such": a congestion control name/],
    [['-C', 'reno', '-u', '/a'], /-C is for TCP backends/],
    [['-p', '1', '-p', '2'], /-p given twice/],
    [['-z'], /unknown option -z/],
    [['extra'], /unexpected argument "extra"/],
  ];
  for (const [args, message] of cases) {
    t.throws(() => parse(...args), UsageError, args.join(' '));
    try {
      parse(...args);
    } catch (error) {
      t.match((error as Error).message, message, args.join(' '));
    }
  }
});

t.test('the program: --help on stdout, usage errors exit 2, unusable sources exit 1', async (t) => {
  const help = await runRelay(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /^Usage: socketbox-relay/);
  t.match(help.stdout, /-2, --proxy-v2/);
  t.match(help.stdout, /--idle-timeout D .*\n.*default 300s/);

  const bad = await runRelay(['-p', 'x']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /socketbox-relay: -p "x": expected a whole number/);
  t.match(bad.stderr, /Try 'socketbox-relay --help'/);

  const notSocket = await runRelay(['-l', '0']); // stdin is /dev/null here
  t.equal(notSocket.status, 1);
  t.match(notSocket.stderr, /descriptor 0: not a socket/);

  const noSuchCc = await runRelay(['-C', 'nosuchcc', '-l', '0']);
  t.equal(noSuchCc.status, 1);
  t.match(noSuchCc.stderr, /-C nosuchcc: not available in this kernel/);

  const notThere = await runRelay(['-s', '/nonexistent-dir/x.sock']);
  t.equal(notThere.status, 1);
  t.match(notThere.stderr, /cannot bind \/nonexistent-dir\/x.sock/);
});
