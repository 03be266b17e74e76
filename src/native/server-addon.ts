import * as path from 'node:path';
import { findPackageRoot } from './find-package-root';

/** What the native server core (native/server_addon.cc) offers JavaScript. */
export interface ListenerSpec {
  addr: Buffer; // 16 bytes
  scopeId: number;
  port: number;
  transparent: boolean;
  freebind: boolean;
  reuseaddr: boolean;
  reuseport: boolean;
}

export interface LoopOptions {
  clearTransparent: boolean;
  maxPending: number;
  /** Of maxPending, how many connections one destination may hold. */
  maxPendingPerTarget: number;
  dispatchTimeoutMs: number;
  drainTimeoutMs: number;
  maxCachedTargets: number;
  /**
   * The listeners whose kernel backlog a stop still serves: those socketbox bound itself (and a
   * -P registration). An inherited socket's backlog belongs to whoever takes it over next.
   */
  drainBacklogOf: number[];
  /** 0 off, 1 text, 2 JSON: one line per connection on stderr. */
  accessLog: number;
  /** -P: the listen fds are registrations at another server; connections arrive as descriptors. */
  upstream?: boolean;
}

export interface LoopExit {
  status: number; // 0 stopped, 10 accept failed, 11 -i peer gone, 98 already running elsewhere, 99 abandoned (test support)
  errno: number;
  error?: string;
}

export interface FdDescription {
  open: boolean;
  socket: boolean;
  /** "socket", "pipe", "regular file", "directory", "character device"...; absent when not open. */
  fileType?: string;
  /** "dev:inode" of the open file: which file it is, whatever number it has. */
  identity?: string;
  type?: number;
  domain?: number;
}

export interface NativeDecision {
  kind: 'target' | 'fail' | 'no_match' | 'loop';
  target?: number;
}

export interface ServerAddon {
  bindListener(spec: ListenerSpec): number;
  adoptListener(fd: number): void;
  listen(fd: number, backlog: number): void;
  closeFd(fd: number): void;
  describeFd(fd: number): FdDescription;
  /** The process's open descriptors (null when /proc/self/fd cannot be read). */
  openFds(): number[] | null;
  lookupUser(name: string): { uid: number; gid: number } | null;
  lookupUserById(uid: number): { uid: number; gid: number } | null;
  lookupGroup(name: string): number | null;
  enterChroot(dir: string): void;
  setGroups(gids: number[]): void;
  setGid(gid: number): void;
  setUid(uid: number): void;
  noNewPrivs(): void;
  /** Empties the calling thread's capability bounding set if CAP_SETPCAP allows it; otherwise leaves it. */
  dropBoundingSet(): void;
  /** Empties the calling thread's permitted, effective, inheritable and ambient capabilities. */
  clearCapabilities(): void;
  /** Whether the real, effective or saved uid is 0. */
  uidIsRoot(): boolean;
  /** Which capability sets of the calling thread are not empty. */
  capabilitiesHeld(): { permitted: boolean; inheritable: boolean; ambient: boolean };
  /** Where libsocketbox-startup.so was preloaded from (bin/socketbox), or null. */
  startupLibrary(): string | null;
  execWithFd(fd: number, argv: string[]): never;
  /** The calling thread's policy: SCHED_BATCH (true) or SCHED_OTHER; throws with errno. */
  setThreadSchedBatch(batch: boolean): void;
  tableValidate(table: Buffer): string | null;
  /** listener: the incoming socket's index (JSON configs); 0 by default. */
  tableLookup(table: Buffer, tuple: Buffer, listener?: number): NativeDecision;
  createLoop(listenFds: number[], options: LoopOptions, stats: BigUint64Array, targetStats: BigUint64Array): number;
  /** slots: a counter slot per target of the table (see TargetSlots). */
  publishTable(loopId: number, table: Buffer, slots?: Uint32Array): void;
  /** Wake the loop; it counts a pong when it gets to it. */
  pingLoop(loopId: number): void;
  /** An O_PATH descriptor of the --target-root directory; throws when /proc/thread-self/fd cannot reach it. */
  openTargetRoot(dir: string): number;
  /**
   * Before the loop runs: confine its UNIX targets beneath rootFd (relative paths start there,
   * absolute ones must start with prefix); abstract targets are refused unless allowAbstract.
   */
  setTargetRoot(loopId: number, rootFd: number, prefix: string, allowAbstract: boolean): void;
  runLoop(loopId: number): LoopExit;
  stopLoop(loopId: number): void;
  /** Test support: the loop returns status 99 as if its thread had died. */
  abandonLoop(loopId: number): void;
  /**
   * Takes the loop back from a thread whose runtime is gone but which may still be
   * inside runLoop (a terminated worker): ends that run and waits up to timeoutMs.
   * True once no thread runs it; its waiting connections are kept.
   */
  reclaimLoop(loopId: number, timeoutMs: number): boolean;
  destroyLoop(loopId: number): void;
  statCount: number;
  targetSlots: number;
}

let cached: ServerAddon | undefined;

export function serverAddon(): ServerAddon {
  if (!cached) {
    const file = path.join(findPackageRoot(), 'build', 'Release', 'socketbox_server.node');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(file) as ServerAddon;
  }
  return cached;
}

/** The process's log sink on stderr (native/log_bindings.cc); merged into ServerAddon. */
export interface ServerAddon {
  /** Opens the sink (once; before chroot). The accept loops' access log needs it. */
  openLogSink(): void;
  /** One line ending in '\n', never blocking: false when it was dropped (and counted). Longer than 4096 bytes, it is cut. */
  writeLogLine(line: string): boolean;
  /** Lines dropped so far, by the main thread and the accept loops together. */
  logLinesDropped(): number;
}

/** systemd notification transport (native/server/sd_notify.c); merged into ServerAddon. */
export interface ServerAddon {
  /** A datagram socket connected to NOTIFY_SOCKET's address ('/path' or '@abstract'). */
  notifySocketOpen(address: string): number;
  /** One notification, e.g. "READY=1\nSTATUS=serving"; waits up to 1 s if the manager's queue is full. */
  notifySocketSend(fd: number, message: string): void;
}

/** Registration protocol (native/registration_bindings.cc); merged into ServerAddon. */
export interface SlotRule {
  uid: number;
  /** Index of the API socket (JSON `paths`) the slot must be registered through. */
  pathNr: number;
}

export interface ServerAddon {
  /** A listening SOCK_SEQPACKET socket at path, owned by uid/gid (-1 = unchanged), with mode. */
  openRegistrationSocket(path: string, mode: number, uid: number, gid: number, backlog: number): number;
  /** -P: register as group at the registration socket path; the registered descriptor. */
  registerAt(path: string, group: number, timeoutMs: number): number;
  /** Serve registrations on apiFds in a native thread; stats holds registrarStatCount counters. */
  startRegistrar(apiFds: number[], slots: SlotRule[], perUidLimit: number, stats: BigUint64Array): void;
  configureRegistrar(slots: SlotRule[], perUidLimit: number): void;
  /** Close every API connection (receivers see the end of the stream) and end the thread. */
  stopRegistrar(): void;
  registrarStatCount: number;
  /** SO_ACCEPTCONN: whether fd is a listening socket. */
  isListeningSocket(fd: number): boolean;
  /** Move this thread into the network namespace at path; returns a descriptor of the old one. */
  enterNetns(path: string): number;
  leaveNetns(previous: number): void;
}
