import { parseGroupNumber } from '../clients/group-number';
import * as os from 'node:os';
import { getopt, OptionSpec } from './getopt';
import { UsageError } from './usage-error';
import { parseDuration, parseInteger } from './values';
import { parseMetricsAddress } from '../metrics/metrics-address';
import { idNumber, idRangeProblem } from '../config/ids';
import { unixPathProblem } from '../config/model';
import { parseSourceRate, SourceRate } from './source-rate-flag';

/** Everything `socketbox` was asked to do, checked but not yet acted on. */
export interface ServerOptions {
  configFile: string;
  listenAddress: string;
  port: number;
  transparent: boolean;
  freebind: boolean;
  reuseaddr: boolean;
  reuseport: boolean;
  backlog: number;
  /** Listening flags given on the command line, as spelled (-l -p -t -F -R -r -b): checked against systemd's sockets. */
  bindingFlags: string[];
  inheritedListenFd?: number;
  exec: boolean;
  user?: string;
  group?: string;
  supplementaryGroups?: string[];
  keepGroups: boolean;
  chrootDir?: string;
  daemonize: boolean;
  forcedUnixPath?: string;
  forcedFd?: number;
  clearTransparent: boolean;
  /** -P NR:PATH: take connections from a registration at another socketbox instead of listening. */
  registration?: { group: number; path: string };
  pathSubstitution: boolean;
  workers: number;
  maxPending: number;
  /** Of maxPending, how many one target may hold (default: 1 / PER_TARGET_SHARE of it). */
  maxPendingPerTarget: number;
  dispatchTimeoutMs: number;
  drainTimeoutMs: number;
  /** --upgrade-timeout: how long the new process of a live upgrade may take to serve. */
  upgradeTimeoutMs: number;
  maxCachedTargets: number;
  /** --source-rate: a token bucket per source prefix, checked by the loops at accept. */
  sourceRate?: SourceRate;
  /** The accept-loop threads' scheduling policy: SCHED_BATCH, SCHED_OTHER, or switching between them. */
  schedPolicy: 'batch' | 'other' | 'adaptive';
  metrics?: string;
  /** --control PATH: the control socket (docs/control.md). */
  control?: string;
  targetRoot?: string;
  /** --allow-abstract-targets: abstract (@name) targets are allowed under --target-root. */
  allowAbstractTargets: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  logFormat: 'text' | 'json';
  accessLog: boolean;
  /** --no-fast-path: never load the BPF sk_lookup program (docs/fast-path.md). */
  noFastPath: boolean;
  mode: 'serve' | 'help' | 'version' | 'check' | 'explain';
  operands: string[];
}

const SPECS: OptionSpec[] = [
  { key: 'f', short: 'f', takesValue: true },
  { key: 'l', short: 'l', takesValue: true },
  { key: 'p', short: 'p', takesValue: true },
  { key: 't', short: 't', takesValue: false },
  { key: 'F', short: 'F', takesValue: false },
  { key: 'R', short: 'R', takesValue: false },
  { key: 'r', short: 'r', takesValue: false },
  { key: 'b', short: 'b', takesValue: true },
  { key: 's', short: 's', takesValue: true },
  { key: 'e', short: 'e', takesValue: false },
  { key: 'u', short: 'u', takesValue: true },
  { key: 'g', short: 'g', takesValue: true },
  { key: 'G', short: 'G', takesValue: true },
  { key: 'k', short: 'k', takesValue: false },
  { key: 'x', short: 'x', takesValue: true },
  { key: 'd', short: 'd', takesValue: false },
  { key: 'S', short: 'S', takesValue: true },
  { key: 'i', short: 'i', takesValue: true },
  { key: 'z', short: 'z', takesValue: false },
  { key: 'P', short: 'P', takesValue: true },
  { key: 'U', short: 'U', takesValue: false },
  { key: 'help', short: 'h', long: 'help', takesValue: false },
  { key: 'version', long: 'version', takesValue: false },
  { key: 'check', long: 'check', takesValue: false },
  { key: 'explain', long: 'explain', takesValue: false },
  { key: 'workers', long: 'workers', takesValue: true },
  { key: 'max-pending', long: 'max-pending', takesValue: true },
  { key: 'max-pending-per-target', long: 'max-pending-per-target', takesValue: true },
  { key: 'dispatch-timeout', long: 'dispatch-timeout', takesValue: true },
  { key: 'drain-timeout', long: 'drain-timeout', takesValue: true },
  { key: 'upgrade-timeout', long: 'upgrade-timeout', takesValue: true },
  { key: 'max-targets', long: 'max-targets', takesValue: true },
  { key: 'sched-policy', long: 'sched-policy', takesValue: true },
  { key: 'source-rate', long: 'source-rate', takesValue: true },
  { key: 'metrics', long: 'metrics', takesValue: true },
  { key: 'target-root', long: 'target-root', takesValue: true },
  { key: 'allow-abstract-targets', long: 'allow-abstract-targets', takesValue: false },
  { key: 'log-level', long: 'log-level', takesValue: true },
  { key: 'log-format', long: 'log-format', takesValue: true },
  { key: 'access-log', long: 'access-log', takesValue: false },
  { key: 'no-fast-path', long: 'no-fast-path', takesValue: false },
  { key: 'control', long: 'control', takesValue: true },
];

export const SERVER_USAGE = `Usage: socketbox [OPTIONS]
       socketbox [OPTIONS] -e PROGRAM [ARGS...]
       socketbox --check [-U] [-f FILE]
       socketbox --explain [-U] [-f FILE] LOCAL_ADDR LOCAL_PORT REMOTE_ADDR REMOTE_PORT [LISTENER]
       socketbox ctl [-c PATH] [--json] COMMAND [ARGS]   (socketbox ctl --help)

Accepts TCP connections and hands each accepted socket to another process over a
UNIX socket (SCM_RIGHTS), routed by the rules in the config file.

Routing:
  -f FILE        config file (default /etc/socketbox.conf; docs/config-classic.md); a FILE
                 ending in .json is the registration-server format (docs/config-json.md):
                 listeners, registration sockets, slots and rules come from it, and
                 -l -p -t -F -R -r -b -s -S -i -P -U -e do not apply. LISTENER (--explain)
                 is its incoming socket index
  -S PATH        send every connection to the datagram socket PATH (no config; @NAME = abstract)
  -i FD          send every connection over inherited socket FD (no config);
                 exits with status 11 when FD's peer is gone. FD (like jump-fd:FD in the
                 config) must be a UNIX datagram or seqpacket socket that was open when
                 socketbox started (passed on by its parent), not stdin/out/err, a
                 listener or a descriptor socketbox opened itself
  -U             substitute #//0_ ... #//7_ (local address groups) and #//P_ (local port)
                 in target paths
  --target-root DIR  every UNIX target path must resolve to a socket beneath DIR, through
                 relative symlinks only that stay beneath it (openat2 RESOLVE_BENEATH);
                 others are refused and counted as outside_root. socketbox connects to
                 the very socket it checked (through /proc/thread-self/fd, so /proc
                 must be mounted, inside the chroot under -x; it refuses to start
                 otherwise). Relative target paths start at DIR; absolute ones must
                 start with DIR (with DIR = /, every absolute path may). Under -x, DIR
                 is inside the chroot. Abstract (@name) targets are refused at start-up
                 and on reload unless --allow-abstract-targets is given.
                 Without --target-root, relative paths start at the working directory
                 (/ under -d and -x)
  --allow-abstract-targets  with --target-root: allow abstract (@name) targets too (they
                 are not files, so nothing confines them)
Listening:
  -l ADDR        listen address (default ::; IPv4 clients appear as ::ffff:a.b.c.d)
  -p PORT        listen port (default 80)
  -t             set IPV6_TRANSPARENT (TPROXY) on the listener
  -F             set IPV6_FREEBIND on the listener
  -R             do not set SO_REUSEADDR (set by default)
  -r             set SO_REUSEPORT (with --workers N: one socket per worker)
  -b N           listen backlog (default 4096)
  -s FD          use inherited listening socket FD instead of binding
  -z             clear IPV6_TRANSPARENT on each accepted socket
  With systemd socket activation (LISTEN_FDS), the inherited sockets are the
  listeners: -l -p -t -F -R -r -s are refused (the socket unit binds), while
  -b re-sets their listen backlog (without it the unit's Backlog= stays).
  Workers share them all, unless there are exactly N for --workers N: one each.
Process:
  -e             bind, drop privileges, then exec PROGRAM with SKBOX_LISTEN_FD set
  -u USER        run as USER (name or number 0..4294967294); without -g it also sets
                 USER's primary group from its passwd entry (a number with no entry is
                 refused: give -g)
  -g GROUP       run as GROUP (name or number 0..4294967294)
  -G G1,G2,...   supplementary groups (default: none when -u/-g is given)
  -k             keep the current supplementary groups
  Capabilities: the inheritable and ambient ones are cleared at start, in every thread.
  Started without root, socketbox keeps its permitted ones (e.g. CAP_NET_BIND_SERVICE)
  in the main thread only, to bind, and clears them before serving; -u -g -G then work
  only where the kernel allows them without a capability. Run it as bin/socketbox.
  -x DIR         chroot to DIR (config reloads and target paths resolve inside it)
  -d             daemonize (the parent exits once the server is serving)
  -P NR:PATH     take connections from another socketbox instead of listening: register
                 as group (slot) NR at its registration socket PATH, route what arrives
                 with this config; exits 0 when that server closes the registration
Tuning:
  --workers N|auto       accept loops (worker threads), default 1
  --max-pending N        connections waiting for full receivers, per worker (default 4096)
  --max-pending-per-target N
                         of those, how many may wait for one target (default a quarter of
                         --max-pending, 1024): a receiver that stops reading cannot take the
                         room of the others; its connections beyond it are queue_full
  --dispatch-timeout D   how long a connection may wait for its receiver (default 2s)
  --drain-timeout D      how long a stop may take to deliver what waits (default 5s)
  --upgrade-timeout D    how long the new process of a live upgrade (SIGUSR2) may take to
                         serve before it is killed and this one goes on (default 30s)
  --max-targets N        distinct target sockets kept connected, per worker (default 1024)
  --sched-policy P       batch (default): accept loops run SCHED_BATCH, so a new connection
                         does not preempt a receiver on the same CPU and a burst is handed
                         over at once (fewer context switches when they share CPUs);
                         other: the normal policy (SCHED_OTHER), for the lowest accept latency
                         on a CPU kept busy by other work; adaptive: SCHED_OTHER while
                         connections come one at a time, SCHED_BATCH while they come in
                         bursts or wait for a receiver
  --no-fast-path         JSON configs: do not load the kernel fast path (docs/fast-path.md);
                         listener-mode receivers are then served over their registration
Limits:
  --source-rate RATE[:BURST][/PREFIXLEN[,PREFIXLEN4]]
                         a token bucket per source prefix: RATE connections per second
                         (> 0, up to 3 decimals, at most 1000000), up to BURST at once
                         (default: RATE rounded down, at least 1). Sources are grouped by
                         their first PREFIXLEN bits (IPv6, default 64) or PREFIXLEN4 bits
                         (IPv4 clients, ::ffff:a.b.c.d, default 32). A connection over the
                         rate is reset (RST) at once, before routing, and counted as
                         refused{reason="rate_limited"}; this applies to every connection
                         the loops take (listeners, -P, JSON configs, whose fast path it
                         turns off). One table for the whole process, shared by every
                         worker: the rate is per source whatever --workers is; a reload
                         (SIGHUP) keeps it and its buckets. It holds 65536 sources in 16
                         shards; in a full shard, a new source takes the place of the least
                         recently seen one, which comes back with a full bucket (SECURITY.md)
Observability:
  --metrics [ADDR:]PORT  serve GET /metrics (Prometheus) and GET /healthz; loopback
                         (127.0.0.1) unless ADDR is given, e.g. [::1]:9464
  --log-level LEVEL      debug, info (default), warn or error
  --log-format FORMAT    text (default) or json, for log lines and the access log
  --access-log           one line per connection on stderr (off by default)
  --control PATH         serve the control socket at PATH (UNIX stream, mode 0600, owned by
                         the user socketbox runs as; its directory must be owned by root or
                         that user and not writable by group or others). PATH is outside any
                         -x chroot; the file is removed at exit. Talk to it with
                         socketbox ctl (docs/control.md)
  Log lines never wait for stderr: those it cannot take at once (nobody reading it) are
  dropped and counted (socketbox_log_lines_dropped_total, the stop line).
Tools:
  --check        validate the config and print a summary, then exit
  --explain      show how a connection would be routed, then exit
  -h, --help     this text;  --version  the version

Signals: SIGHUP reloads the config (a bad file keeps the old rules); SIGTERM/SIGINT stop
accepting, deliver what was accepted and exit 0. With --control, socketbox ctl reload does the
same reload and waits for its outcome. SIGUSR2 upgrades live: the same command
line is started again with the listening sockets inherited (in JSON mode the registration
sockets and registered receivers too; the metrics socket in both); once it serves, this
process stops accepting, delivers what it accepted and exits 0. If it does not serve within
the --upgrade-timeout, it is killed and this one goes on. Refused with -x, or with the kernel
fast path attached (use --no-fast-path): the new process runs as the user this one dropped
to (docs/startup.md, "Live upgrade").
systemd: with NOTIFY_SOCKET set, sends READY=1 once serving, RELOADING=1 and READY=1
around a reload, STOPPING=1, a STATUS= summary, and WATCHDOG=1 (WATCHDOG_USEC) while
every worker answers; after a live upgrade the new process sends MAINPID= (the unit needs
NotifyAccess=all).
Exit status: 0 ok, 1 startup or config error, 2 usage error, 10 accept failed, 11 -i peer gone.
`;

/**
 * By default one target may hold a quarter of the waiting budget: up to three
 * receivers that stop reading still leave a quarter to every other target.
 */
const PER_TARGET_SHARE = 4;

function parseWorkers(text: string | undefined): number {
  if (text === 'auto') return Math.max(1, os.availableParallelism());
  return parseInteger(text, '--workers', 1, 256);
}

export function parseServerFlags(argv: readonly string[]): ServerOptions {
  const { options, operands } = getopt(argv, SPECS);
  const o: ServerOptions = {
    configFile: '/etc/socketbox.conf',
    listenAddress: '::',
    port: 80,
    transparent: false,
    freebind: false,
    reuseaddr: true,
    reuseport: false,
    backlog: 4096,
    bindingFlags: [],
    exec: false,
    keepGroups: false,
    daemonize: false,
    clearTransparent: false,
    pathSubstitution: false,
    workers: 1,
    maxPending: 4096,
    maxPendingPerTarget: 0, // set below from maxPending unless given
    dispatchTimeoutMs: 2000,
    drainTimeoutMs: 5000,
    upgradeTimeoutMs: 30_000,
    maxCachedTargets: 1024,
    schedPolicy: 'batch',
    allowAbstractTargets: false,
    logLevel: 'info',
    logFormat: 'text',
    accessLog: false,
    noFastPath: false,
    mode: 'serve',
    operands,
  };
  for (const { key, value, spelled } of options) {
    if ('lptFRrb'.includes(key) && !o.bindingFlags.includes(spelled)) o.bindingFlags.push(spelled);
    switch (key) {
      case 'f': o.configFile = nonEmpty(value, spelled); break;
      case 'l': o.listenAddress = nonEmpty(value, spelled); break;
      case 'p': o.port = parseInteger(value, spelled, 0, 65535); break;
      case 't': o.transparent = true; break;
      case 'F': o.freebind = true; break;
      case 'R': o.reuseaddr = false; break;
      case 'r': o.reuseport = true; break;
      case 'b': o.backlog = parseInteger(value, spelled, 1, 1 << 30); break;
      case 's': o.inheritedListenFd = parseInteger(value, spelled, 0, 1 << 30); break;
      case 'e': o.exec = true; break;
      case 'u': o.user = idFlag(value, spelled); break;
      case 'g': o.group = idFlag(value, spelled); break;
      case 'G': o.supplementaryGroups = nonEmpty(value, spelled).split(',').filter((g) => g !== '').map((g) => idFlag(g, spelled)); break;
      case 'k': o.keepGroups = true; break;
      case 'x': o.chrootDir = nonEmpty(value, spelled); break;
      case 'd': o.daemonize = true; break;
      // -S and -i replace each other: the last one given wins, as in the original.
      case 'S': o.forcedUnixPath = nonEmpty(value, spelled); o.forcedFd = undefined; break;
      case 'i': o.forcedFd = parseInteger(value, spelled, 0, 1 << 30); o.forcedUnixPath = undefined; break;
      case 'z': o.clearTransparent = true; break;
      case 'P': o.registration = parseRegistration(nonEmpty(value, spelled)); break;
      case 'U': o.pathSubstitution = true; break;
      case 'help': o.mode = 'help'; break;
      case 'version': o.mode = 'version'; break;
      case 'check': o.mode = 'check'; break;
      case 'explain': o.mode = 'explain'; break;
      case 'workers': o.workers = parseWorkers(value); break;
      case 'max-pending': o.maxPending = parseInteger(value, spelled, 1, 1 << 24); break;
      case 'max-pending-per-target': o.maxPendingPerTarget = parseInteger(value, spelled, 1, 1 << 24); break;
      case 'dispatch-timeout': o.dispatchTimeoutMs = parseDuration(value, spelled); break;
      case 'drain-timeout': o.drainTimeoutMs = parseDuration(value, spelled); break;
      case 'upgrade-timeout': o.upgradeTimeoutMs = parseDuration(value, spelled); break;
      case 'max-targets': o.maxCachedTargets = parseInteger(value, spelled, 1, 1 << 20); break;
      case 'source-rate': o.sourceRate = parseSourceRate(value, spelled); break;
      case 'sched-policy': o.schedPolicy = oneOf(value, spelled, ['batch', 'other', 'adaptive'] as const); break;
      case 'metrics': o.metrics = nonEmpty(value, spelled); break;
      case 'control': o.control = nonEmpty(value, spelled); break;
      case 'target-root': o.targetRoot = nonEmpty(value, spelled); break;
      case 'allow-abstract-targets': o.allowAbstractTargets = true; break;
      case 'log-level': o.logLevel = oneOf(value, spelled, ['debug', 'info', 'warn', 'error'] as const); break;
      case 'log-format': o.logFormat = oneOf(value, spelled, ['text', 'json'] as const); break;
      case 'access-log': o.accessLog = true; break;
      case 'no-fast-path': o.noFastPath = true; break;
    }
  }
  if (o.maxPendingPerTarget === 0) o.maxPendingPerTarget = Math.ceil(o.maxPending / PER_TARGET_SHARE);
  checkConsistency(o);
  return o;
}

/** -P NR:PATH, NR as the original's strtoul(…, 0) reads it (decimal, 0x hex, 0 octal). */
function parseRegistration(value: string): { group: number; path: string } {
  const colon = value.indexOf(':');
  const group = colon > 0 ? parseGroupNumber(value.slice(0, colon)) : null;
  const where = colon > 0 ? value.slice(colon + 1) : '';
  if (group === null || where === '') throw new UsageError(`-P: expected NR:PATH (a group number and a registration socket), got '${value}'`);
  if (Buffer.byteLength(where) > 107) throw new UsageError(`-P: the path is ${Buffer.byteLength(where)} bytes; the limit is 107`);
  return { group, path: where };
}

function oneOf<T extends string>(value: string | undefined, spelled: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw new UsageError(`${spelled}: expected one of ${allowed.join(', ')}, got '${value ?? ''}'`);
  return value as T;
}

/** A user or group: a name, or a number in range (checked now, before anything is bound). */
function idFlag(value: string | undefined, spelled: string): string {
  const text = nonEmpty(value, spelled);
  const n = idNumber(text);
  const problem = n === null ? null : idRangeProblem(n, text);
  if (problem) throw new UsageError(`${spelled}: ${problem}`);
  return text;
}

function nonEmpty(value: string | undefined, spelled: string): string {
  if (!value) throw new UsageError(`${spelled}: the value must not be empty`);
  return value;
}

function checkConsistency(o: ServerOptions): void {
  if (o.mode === 'help' || o.mode === 'version') return;
  if (o.registration !== undefined) {
    const listening = o.bindingFlags.concat(o.inheritedListenFd !== undefined ? ['-s'] : []);
    if (listening.length > 0)
      throw new UsageError(`-P takes connections from a registration, not a listener: ${listening.join(' ')} cannot be used with it`);
    if (o.exec) throw new UsageError('-P and -e cannot be combined: -e hands a listening socket to another program');
  }
  if (o.mode === 'explain') {
    if (o.operands.length !== 4 && o.operands.length !== 5)
      throw new UsageError('--explain needs LOCAL_ADDR LOCAL_PORT REMOTE_ADDR REMOTE_PORT [LISTENER]');
    return;
  }
  if (o.exec && o.operands.length === 0) throw new UsageError('-e needs a PROGRAM to run');
  if (!o.exec && o.operands.length > 0) throw new UsageError(`unexpected argument '${o.operands[0]}' (did you mean -e?)`);
  if (o.exec && o.workers > 1) throw new UsageError('-e execs another program: --workers does not apply');
  if (o.metrics !== undefined) {
    try {
      parseMetricsAddress(o.metrics);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  if (o.control !== undefined) checkControlPath(o.control, o.exec);
  if (o.maxPendingPerTarget > o.maxPending)
    throw new UsageError(`--max-pending-per-target: ${o.maxPendingPerTarget} is more than --max-pending (${o.maxPending})`);
  if (o.allowAbstractTargets && o.targetRoot === undefined)
    throw new UsageError('--allow-abstract-targets only applies with --target-root (without it, abstract targets are allowed anyway)');
  if (o.forcedUnixPath !== undefined && Buffer.byteLength(o.forcedUnixPath) > 107)
    throw new UsageError(`-S: the path is ${Buffer.byteLength(o.forcedUnixPath)} bytes; the limit is 107`);
  const forcedPathProblem = o.forcedUnixPath === undefined ? null : unixPathProblem(o.forcedUnixPath);
  if (forcedPathProblem) throw new UsageError(`-S: ${forcedPathProblem}`);
}

/** A file (an abstract name has no owner or mode to protect it), within sun_path. */
function checkControlPath(controlPath: string, exec: boolean): void {
  if (exec) throw new UsageError('--control: -e execs another program, which would not serve it');
  if (controlPath.startsWith('@')) throw new UsageError('--control: an abstract socket has no owner or mode to protect it; give a file path');
  if (Buffer.byteLength(controlPath) > 107) throw new UsageError(`--control: the path is ${Buffer.byteLength(controlPath)} bytes; the limit is 107`);
}
