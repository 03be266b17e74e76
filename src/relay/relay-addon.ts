// The native relay (build/Release/socketbox_relay.node, from native/relay_addon.cc).
import { loadAddon } from '../native/build-products';

export interface NativeRelayConfig {
  sourceFd: number;
  sourceKind: 'listen' | 'receive';
  /** A socket file the relay bound, removed when it is destroyed. */
  unlinkPath?: string;
  validationLevel: number;
  /** UNIX backend path; when absent the TCP fields apply. */
  unixPath?: string;
  address: Buffer;
  port: number;
  scopeId: number;
  nat64: boolean;
  nat64Wide: boolean;
  nat64Prefix: Buffer;
  /** TCP congestion control for backend connections; absent = the system's. */
  congestion?: string;
  proxyVersion: 0 | 1 | 2;
  connectTimeoutMs: number;
  /** Close a connection that moved no byte either way this long; 0 = never. */
  idleTimeoutMs: number;
  maxConnections: number;
  /** Per-connection log lines (-1 = none) and problems; never written blocking (lines the descriptor cannot take at once are dropped, then counted in a note line). */
  logFd: number;
  errorFd: number;
}

export interface RelayExit {
  status: number; // 0 stopped (or the sender went away), 1 the loop failed
  errno: number;
  error?: string;
}

export interface RelayAddon {
  interfaceIndex(name: string): number;
  /** Throws (with errno) unless backend sockets may use this TCP congestion control. */
  checkCongestion(name: string): void;
  /** A non-blocking datagram socket bound at path, mode 0660; stale socket files replaced. */
  bindReceiveSocket(path: string): number;
  /** Takes the source descriptor (closed when this throws); returns an id for the other calls. */
  createRelay(config: NativeRelayConfig): number;
  /** Blocks the calling thread (a worker) until stopRelay. */
  runRelay(id: number): RelayExit;
  stopRelay(id: number): void;
  destroyRelay(id: number): void;
}

export function relayAddon(): RelayAddon {
  return loadAddon<RelayAddon>('relayAddon');
}
