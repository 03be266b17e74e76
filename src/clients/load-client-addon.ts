// The native part of the client programs (build/Release/socketbox_client.node, from
// native/client_addon.cc).
import { loadAddon } from '../native/build-products';

export type ReceiveStatus = 'fd' | 'none' | 'again' | 'end';

export interface Received {
  /** 'fd': a valid descriptor arrived; 'none': a message without a usable one (already
   *  cleaned up); 'again': nothing queued; 'end': the stream/seqpacket peer has gone. */
  status: ReceiveStatus;
  /** The received descriptor (close-on-exec) when status is 'fd', else -1. */
  fd: number;
  /** Descriptors beyond the first one that were closed. */
  extraClosed: number;
  /** The first descriptor failed SKBOX_STRICT_STREAM_MODE validation and was closed. */
  rejected: boolean;
  /** The kernel dropped descriptors that did not fit (MSG_CTRUNC). */
  truncated: boolean;
}

export interface Endpoint {
  /** 16 bytes of IPv6 address; IPv4 sockets give IPv4-mapped addresses. */
  address: Buffer;
  port: number;
  ipv4: boolean;
}

/** Controls of a watchReadable; after stop, pause and resume do nothing. */
export interface ReadableWatch {
  /** Takes the descriptor out of the event loop: what arrives stays queued in the kernel. */
  pause(): void;
  resume(): void;
  stop(): void;
}

/** Integer arguments are checked before use: a non-number throws a TypeError, NaN, an
 *  infinity, a fraction or a value out of the argument's range a RangeError. */
export interface ClientAddon {
  /** Binds a close-on-exec, non-blocking datagram socket at path ('@name' = abstract), mode
   *  0660 unless given; removes a stale socket file, refuses a live socket or a non-socket. */
  bindDatagramSocket(path: string, mode?: number): number;
  /** Registers as group at the registration socket path (docs/wire-protocol.md#registration); the registered
   *  seqpacket descriptor over which connections then arrive. Throws when refused. */
  registerAt(path: string, group: number, timeoutMs: number): number;
  /** Listener mode (docs/fast-path.md): registers as group; the grant may carry a listening socket
   *  (made non-blocking) on which the kernel queues the slot's connections, else listener is -1.
   *  Connections that do not take the fast path still arrive over socket. Throws when refused. */
  registerListenerAt(path: string, group: number, timeoutMs: number): { socket: number; listener: number };
  /** One connection from a non-blocking listener (close-on-exec, blocking mode); -1 when none
   *  waits, -2 when the listener was shut down. */
  acceptConnection(listener: number): number;
  /** An unbound, close-on-exec datagram socket for sending. */
  openDatagramSocket(): number;
  /** One message from sock; wait = block (in poll) until one arrives. Throws on errors. */
  receiveFd(sock: number, level: number, wait: boolean): Received;
  /** Sends payload "\0" with the descriptors (possibly none) to path (or the socket's peer).
   *  Returns false when the receiver's queue is full and wait is false. */
  sendFds(sock: number, fds: number[], path: string | null, wait: boolean): boolean;
  /** Calls back (err or null) each time fd is readable, from the event loop; never blocks. */
  watchReadable(fd: number, callback: (err: Error | null) => void): ReadableWatch;
  /** Starts file (PATH search) in a new session with conn as stdin and stdout; the child
   *  keeps stderr and nothing else. Returns the pid; throws when the exec fails. */
  spawnInSession(file: string, argv: string[], conn: number): number;
  /** Reaps the children that have exited (never waits); their pids. */
  reapChildren(): number[];
  /** Makes fd, stdio and keepOpen inheritable, sets SKBOX_RECEIVED_FD, restores default
   *  signal handling, execvp. Only returns by throwing. */
  execWithReceivedFd(fd: number, keepOpen: number[], file: string, argv: string[]): never;
  /** Local (remote = false) or remote end of an IP socket. */
  socketEndpoint(fd: number, remote: boolean): Endpoint;
}

export function loadClientAddon(): ClientAddon {
  return loadAddon<ClientAddon>('clientAddon');
}
