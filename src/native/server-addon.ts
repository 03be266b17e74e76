/**
 * What the server addon (build/Release/socketbox_server.node) offers JavaScript. It is put
 * together in native/server_addon.cc from one binding file per concern; the groups below
 * follow those files.
 */
import { loadAddon } from './build-products';
import type { FASTPATH_DECISIONS } from './contracts.generated';
import type { SourceRate } from '../cli/source-rate-flag';

export interface ListenerSpec {
  addr: Buffer; // 16 bytes
  scopeId: number;
  port: number;
  transparent: boolean;
  freebind: boolean;
  reuseaddr: boolean;
  reuseport: boolean;
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
  /** --source-rate: the id of the table (createSourceRate) every loop shares; it must outlive them. */
  sourceRate?: number;
  /** --sched-policy adaptive: the loop switches its thread between SCHED_OTHER and SCHED_BATCH. */
  adaptiveSched?: boolean;
}

export interface LoopExit {
  status: number; // 0 stopped, 10 accept failed, 11 -i peer gone, 98 already running elsewhere, 99 abandoned (test support)
  errno: number;
  error?: string;
}

/** One entry of a native counter list, named as in C without the prefix (REFUSED_NO_MATCH). */
export interface NativeCounterEntry {
  name: string;
  index: number;
  /** The outcome word operators see ("no_match"), or "". */
  label: string;
  /** NONE, DELIVERED or REFUSED. */
  outcome: string;
}

/** The counter layouts and names the addon was compiled with (native/contract_bindings.cc). */
export interface NativeContracts {
  stats: Array<NativeCounterEntry & { width: number }>;
  statCount: number;
  latencyBoundsUs: number[];
  targetSlots: number;
  targetStats: string[];
  registrarStats: NativeCounterEntry[];
  fastpathDecisions: Array<Omit<NativeCounterEntry, 'outcome'>>;
  /** native/server/source_rate.h: the table's size and shards, the largest rate (× 1000) and burst. */
  sourceRate: { entries: number; shards: number; maxRateMilli: number; maxBurst: number };
}

/** A decision of the fast path's BPF program (enum skbox_fp_decision). */
export type FastpathDecision = (typeof FASTPATH_DECISIONS)[number];

export interface FastpathSlotCounters {
  slot: number;
  /** Connections the program put into the slot's listener. */
  assigned: number;
  /** Of those, taken back from the queue after the receiver had gone (refused as no_receiver). */
  reclaimed: number;
}

export interface FastpathCounters {
  /** Per decision of the program, summed over CPUs. */
  decisions: Record<FastpathDecision, number>;
  /** Every slot that has had a listener since start-up. */
  slots: FastpathSlotCounters[];
  /** Listener-mode registrations granted with a listener, and without one (fast path unable). */
  grants: { listener: number; without_listener: number };
}

/** One receiver's connection to a registration socket, as a live upgrade hands it over. */
export interface ApiConnection {
  fd: number;
  uid: number;
  /** The registration socket it came through (JSON `paths` index). */
  pathNr: number;
  /** -1: connected, not registered yet. */
  slot: number;
}

export interface SlotRule {
  uid: number;
  /** Index of the API socket (JSON `paths`) the slot must be registered through. */
  pathNr: number;
}

export interface ServerAddon {
  // ---- listeners and descriptors (native/listener_bindings.cc) ----
  bindListener(spec: ListenerSpec): number;
  adoptListener(fd: number): void;
  listen(fd: number, backlog: number): void;
  closeFd(fd: number): void;
  /** Marks an inherited descriptor close-on-exec: nothing socketbox starts inherits it. */
  closeOnExec(fd: number): void;
  describeFd(fd: number): FdDescription;
  /** The process's open descriptors (null when /proc/self/fd cannot be read). */
  openFds(): number[] | null;

  // ---- users and privileges (native/privilege_bindings.cc) ----
  lookupUser(name: string): { uid: number; gid: number } | null;
  lookupUserById(uid: number): { uid: number; gid: number } | null;
  lookupGroup(name: string): number | null;
  enterChroot(dir: string): void;
  setGroups(gids: number[]): void;
  setGid(gid: number): void;
  setUid(uid: number): void;
  noNewPrivs(): void;
  execWithFd(fd: number, argv: string[]): never;

  // ---- capabilities and the start-up library (native/capability_bindings.cc) ----
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

  // ---- rule tables (native/table_bindings.cc) ----
  tableValidate(table: Buffer): string | null;
  /** listener: the incoming socket's index (JSON configs); 0 by default. */
  tableLookup(table: Buffer, tuple: Buffer, listener?: number): NativeDecision;

  // ---- the --source-rate table (native/source_rate_bindings.cc) ----
  /** A table of SOURCE_RATE.entries buckets, allocated once; throws when the values are out of range. */
  createSourceRate(limit: SourceRate): number;
  /** After every loop that uses it is destroyed. */
  destroySourceRate(id: number): void;
  /** The bytes a table allocates (its bound on memory). */
  sourceRateTableBytes: number;

  // ---- accept loops (native/loop_bindings.cc) ----
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
  /**
   * Runs the loop on a thread of its own, in SCHED_BATCH (schedBatch) or SCHED_OTHER, until it
   * returns; onEnd gets its exit on the main thread. Returns null, or why the kernel refused the
   * policy (the loop runs anyway). Throws when no thread can be started.
   */
  startLoopThread(loopId: number, schedBatch: boolean, onEnd: (exit: LoopExit) => void): string | null;
  stopLoop(loopId: number): void;
  /** A stop for a live upgrade: like stopLoop, but no listener's kernel backlog is taken (the new process's now). */
  handOverLoop(loopId: number): void;
  /** Test support: the loop returns status 99 as if its thread had died. */
  abandonLoop(loopId: number): void;
  destroyLoop(loopId: number): void;

  // ---- counter layouts (native/contract_bindings.cc; src/server/stats-layout.ts) ----
  nativeContracts: NativeContracts;
  statCount: number;
  targetSlots: number;
  registrarStatCount: number;

  // ---- systemd notification (native/notify_bindings.cc) ----
  /** A datagram socket connected to NOTIFY_SOCKET's address ('/path' or '@abstract'). */
  notifySocketOpen(address: string): number;
  /** One notification, e.g. "READY=1\nSTATUS=serving"; waits up to 1 s if the manager's queue is full. */
  notifySocketSend(fd: number, message: string): void;

  // ---- the process's log sink on stderr (native/log_bindings.cc) ----
  /** Opens the sink (once; before chroot). The accept loops' access log needs it. */
  openLogSink(): void;
  /** One line ending in '\n', never blocking: false when it was dropped (and counted). Longer than 4096 bytes, it is cut. */
  writeLogLine(line: string): boolean;
  /** Lines dropped so far, by the main thread and the accept loops together. */
  logLinesDropped(): number;

  // ---- the registration protocol: JSON config, -P (native/registration_bindings.cc) ----
  /** A listening SOCK_SEQPACKET socket at path, owned by uid/gid (-1 = unchanged), with mode. */
  openRegistrationSocket(path: string, mode: number, uid: number, gid: number, backlog: number): number;
  /** -P: register as group at the registration socket path; the registered descriptor. */
  registerAt(path: string, group: number, timeoutMs: number): number;
  /**
   * Serve registrations on apiFds in a native thread; stats holds registrarStatCount counters.
   * adopted: API connections a live upgrade's old process served, taken over as they were.
   */
  startRegistrar(apiFds: number[], slots: SlotRule[], perUidLimit: number, stats: BigUint64Array, adopted?: ApiConnection[]): void;
  /** A live upgrade: the thread ends, every API connection and slot kept; the connections as they are. */
  pauseRegistrar(): Array<ApiConnection & { listenerMode: boolean }>;
  /** After pauseRegistrar (the upgrade failed): serve again. */
  resumeRegistrar(): void;
  /** After pauseRegistrar (the new process serves): let go of every API connection without ending it. */
  releaseRegistrar(): void;
  configureRegistrar(slots: SlotRule[], perUidLimit: number): void;
  /** Close every API connection (receivers see the end of the stream) and end the thread. */
  stopRegistrar(): void;
  /** The slots held by a registered receiver now, in slot order ([] without a registrar). */
  registrationsHeld(): Array<{ slot: number; uid: number; sinceMs: number; listenerMode: boolean }>;
  /** SO_ACCEPTCONN: whether fd is a listening socket. */
  isListeningSocket(fd: number): boolean;
  /** Move this thread into the network namespace at path; returns a descriptor of the old one. */
  enterNetns(path: string): number;
  leaveNetns(previous: number): void;

  // ---- the control socket (native/control_bindings.cc, docs/control.md) ----
  /**
   * A listening UNIX stream socket at path, its file created owned by uid/gid (-1: unchanged)
   * with mode 0600; refused when its directory is not owned by root or uid, or is writable
   * by its group or others. dirFd (O_PATH) and dev/ino let removeControlSocket find it later.
   */
  openControlSocket(path: string, uid: number, gid: number, backlog: number): { fd: number; dirFd: number; name: string; dev: number; ino: number };
  /** Removes the file if it is still the one created, and closes dirFd; throws with .errno when it stays. */
  removeControlSocket(file: { dirFd: number; name: string; dev: number; ino: number }): void;

  // ---- the kernel fast path (native/fastpath_bindings.cc, docs/fast-path.md) ----
  /** Load the BPF object and attach its sk_lookup program to this thread's network namespace; throws with .errno.
   *  verbose: libbpf's messages (the verifier's log among them) go to stderr. */
  fastpathStart(objectPath: string, verbose?: boolean): void;
  fastpathActive(): boolean;
  /** Detach and release: every connection goes through the accept loops again. */
  fastpathStop(): void;
  /** socketbox's listeners in incoming order; returns how many are in the attached namespace. */
  fastpathSetListeners(fds: number[]): number;
  /** true: the program evaluates this table; false: beyond its limits, it passes every connection. */
  fastpathPublish(table: Buffer): boolean;
  fastpathCounters(): FastpathCounters;
  /** Test support: a slot's listener (owned by the fast path), and its removal. */
  fastpathOpenSlot(slot: number): number;
  fastpathCloseSlot(slot: number, reclaim: boolean): void;
  /** Test support: one BPF_PROG_TEST_RUN; tuple as in docs/table-format.md. */
  fastpathTestRun(tuple: Buffer, ipv4: boolean): { decision: FastpathDecision; cookie: bigint };
  /** SO_COOKIE of a socket. */
  socketCookie(fd: number): bigint;
}

export function serverAddon(): ServerAddon {
  return loadAddon<ServerAddon>('serverAddon');
}
