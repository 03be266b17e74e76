// The command line of socketbox-relay (usage text: ./usage.ts), checked completely before anything starts.
import { getopt, type OptionSpec } from '../cli/getopt';
import { UsageError } from '../cli/usage-error';
import { parseDuration } from '../cli/values';
import { addressBytes, ipv6Bytes } from './ipv6-bytes';

export const UNIX_PATH_MAX = 107;
const NAT64_SUFFIX_LENGTH = '-xxxxxxxx'.length;
export const DEFAULT_NAT64_PREFIX = '64:ff9b::';
/** Like a proxy's client/server timeouts: long enough for any live peer, short enough that
 *  silent connections cannot hold every place under -m for long. */
export const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

export type RelaySource =
  | { kind: 'bind'; path: string } // -s
  | { kind: 'listen'; fd: number } // -l (or fd 0)
  | { kind: 'receive'; fd: number } // -l -e
  | { kind: 'register'; path: string; slot: number }; // -R: listener mode (docs/fast-path.md)

export type RelayTarget =
  | { kind: 'tcp'; address: Buffer; port: number; scopeId: number }
  | { kind: 'unix'; path: string };

export interface RelayOptions {
  help: boolean;
  source: RelaySource;
  target: RelayTarget;
  nat64: { prefix: Buffer; wide: boolean } | null;
  proxyVersion: 0 | 1 | 2;
  /** -C: TCP congestion control for backend connections (null = the system's). */
  congestion: string | null;
  connectTimeoutMs: number;
  /** --idle-timeout: close a connection that moved no byte either way this long (0 = never). */
  idleTimeoutMs: number;
  maxConnections: number; // 0 = by the descriptor limit
  quiet: boolean;
}

const SPECS: OptionSpec[] = [
  { key: 'connect', short: 'c', long: 'connect', takesValue: true },
  { key: 'port', short: 'p', long: 'port', takesValue: true },
  { key: 'interface', short: 'I', long: 'interface', takesValue: true },
  { key: 'scope', short: 'n', long: 'scope-id', takesValue: true },
  { key: 'unix', short: 'u', long: 'unix', takesValue: true },
  { key: 'socket', short: 's', long: 'socket', takesValue: true },
  { key: 'fd', short: 'l', long: 'listen-fd', takesValue: true },
  { key: 'receive', short: 'e', long: 'receive', takesValue: false },
  { key: 'register', short: 'R', long: 'register', takesValue: true },
  { key: 'proxy1', short: 'i', long: 'proxy', takesValue: false },
  { key: 'proxy2', short: '2', long: 'proxy-v2', takesValue: false },
  { key: 'nat64', short: 'N', long: 'nat64', takesValue: false },
  { key: 'prefix', short: 'P', long: 'nat64-prefix', takesValue: true },
  { key: 'wide', short: 'x', long: 'nat64-wide', takesValue: false },
  { key: 'congestion', short: 'C', long: 'congestion', takesValue: true },
  { key: 'timeout', short: 'T', long: 'connect-timeout', takesValue: true },
  { key: 'idle', long: 'idle-timeout', takesValue: true },
  { key: 'max', short: 'm', long: 'max-connections', takesValue: true },
  { key: 'quiet', short: 'q', long: 'quiet', takesValue: false },
  { key: 'help', short: 'h', long: 'help', takesValue: false },
];

/** A whole decimal number in [min, max]; anything else is a usage error naming the flag. */
function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max)
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`);
  return Number(text);
}

function socketPath(flag: string, path: string, room = 0): string {
  if (path === '' || path === '@') throw new UsageError(`${flag}: the socket path is empty`);
  const max = UNIX_PATH_MAX - room;
  if (Buffer.byteLength(path) > max)
    throw new UsageError(`${flag} ${path}: a UNIX socket path holds at most ${max} bytes${room ? ' here (NAT64 adds -xxxxxxxx)' : ''}`);
  if (path.includes('\0')) throw new UsageError(`${flag}: the socket path contains a NUL byte`);
  return path;
}

function congestionName(name: string): string {
  if (!/^[a-z0-9_]{1,15}$/i.test(name)) throw new UsageError(`-C ${JSON.stringify(name)}: a congestion control name (like reno or cubic)`);
  return name;
}

function prefixBytes(text: string, wide: boolean): Buffer {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const bytes = ipv6Bytes(address);
  if (!bytes) throw new UsageError(`-P ${text}: not an IPv6 prefix`);
  const want = wide ? 64 : 96;
  if (slash >= 0 && text.slice(slash + 1) !== String(want))
    throw new UsageError(`-P ${text}: the prefix length is ${want}${wide ? ' with -x' : ' (or 64 with -x)'}`);
  bytes.fill(0, want / 8); // bits past the prefix play no part
  return bytes;
}

/** -R SOCKET:SLOT: a registration socket of a JSON-config socketbox, and a slot 0..65535. */
function registration(text: string): RelaySource {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) throw new UsageError(`-R ${JSON.stringify(text)}: expected SOCKET:SLOT`);
  return { kind: 'register', path: socketPath('-R', text.slice(0, colon)), slot: integer('-R', text.slice(colon + 1), 0, 65535) };
}

/**
 * Parses args (without the program name). interfaceIndex resolves -I names (0 = none
 * such). Throws UsageError for anything the relay could not run with.
 */
export function parseRelayOptions(args: readonly string[], interfaceIndex: (name: string) => number): RelayOptions {
  const { options, operands } = getopt(args, SPECS);
  if (operands.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(operands[0])}`);
  const seen = new Map<string, string | undefined>();
  for (const o of options) {
    if (seen.has(o.key) && o.value !== undefined) throw new UsageError(`${o.spelled} given twice`);
    seen.set(o.key, o.value);
  }
  const value = (key: string): string | undefined => seen.get(key);
  const has = (key: string): boolean => seen.has(key);
  // --help wins over everything else, which is then not checked at all.
  if (has('help')) return { ...parseRelayOptions([], () => 0), help: true };

  const conflict = (a: string, b: string, why: string): void => {
    if (has(a) && has(b)) throw new UsageError(why);
  };
  conflict('socket', 'fd', '-s and -l are two different sources: give one');
  conflict('socket', 'receive', '-e goes with -l FD (-s already receives)');
  conflict('register', 'socket', '-R and -s are two different sources: give one');
  conflict('register', 'fd', '-R and -l are two different sources: give one');
  conflict('register', 'receive', '-e goes with -l FD (-R receives what does not take the fast path by itself)');
  conflict('unix', 'connect', '-u and -c name two different backends: give one');
  conflict('unix', 'port', '-p is for TCP backends; -u names a UNIX socket');
  conflict('unix', 'interface', '-I is for TCP backends; -u names a UNIX socket');
  conflict('unix', 'scope', '-n is for TCP backends; -u names a UNIX socket');
  conflict('interface', 'scope', '-I and -n both set the scope id: give one');
  conflict('proxy1', 'proxy2', '-i and -2 ask for two different PROXY headers: give one');
  conflict('unix', 'congestion', '-C is for TCP backends; -u names a UNIX socket');
  conflict('unix', 'wide', '-x is for TCP backends: a NAT64 UNIX path carries only the last 32 bits');
  if (!has('nat64')) {
    if (has('prefix')) throw new UsageError('-P sets the NAT64 prefix: it needs -N');
    if (has('wide')) throw new UsageError('-x widens the NAT64 prefix: it needs -N');
  }

  let source: RelaySource;
  if (has('register')) source = registration(value('register')!);
  else if (has('socket')) source = { kind: 'bind', path: socketPath('-s', value('socket')!) };
  else {
    const fd = has('fd') ? integer('-l', value('fd')!, 0, 2 ** 31 - 1) : 0;
    source = has('receive') ? { kind: 'receive', fd } : { kind: 'listen', fd };
  }

  const nat64 = has('nat64')
    ? { prefix: prefixBytes(value('prefix') ?? DEFAULT_NAT64_PREFIX, has('wide')), wide: has('wide') }
    : null;

  let target: RelayTarget;
  if (has('unix')) {
    target = { kind: 'unix', path: socketPath('-u', value('unix')!, nat64 ? NAT64_SUFFIX_LENGTH : 0) };
  } else {
    const text = value('connect') ?? (nat64 ? '::ffff:0.0.0.0' : '::1');
    const address = addressBytes(text);
    if (!address) throw new UsageError(`-c ${text}: not an IP address (IPv4 may be written ::ffff:a.b.c.d; scopes go in -I or -n)`);
    const port = has('port') ? integer('-p', value('port')!, 0, 65535) : 80;
    if (port === 0 && !nat64) throw new UsageError('-p 0 (keep the dialled port) only makes sense with -N');
    let scopeId = 0;
    if (has('interface')) {
      scopeId = interfaceIndex(value('interface')!);
      if (scopeId === 0) throw new UsageError(`-I ${value('interface')}: no such network interface`);
    } else if (has('scope')) {
      scopeId = integer('-n', value('scope')!, 0, 2 ** 32 - 1);
    }
    target = { kind: 'tcp', address, port, scopeId };
  }

  return {
    help: false,
    source,
    target,
    nat64,
    proxyVersion: has('proxy2') ? 2 : has('proxy1') ? 1 : 0,
    congestion: has('congestion') ? congestionName(value('congestion')!) : null,
    connectTimeoutMs: has('timeout') ? integer('-T', value('timeout')!, 1, 3_600_000) : 10_000,
    idleTimeoutMs: has('idle') ? parseDuration(value('idle'), '--idle-timeout') : DEFAULT_IDLE_TIMEOUT_MS,
    maxConnections: has('max') ? integer('-m', value('max')!, 1, 1_000_000) : 0,
    quiet: has('quiet'),
  };
}
