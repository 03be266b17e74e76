// From checked options to what the native relay takes.
import type { NativeRelayConfig } from './relay-addon';
import type { RelayOptions } from './relay-options';

export function nativeConfig(
  options: RelayOptions,
  source: { fd: number; kind: 'listen' | 'receive'; unlinkPath?: string },
  validationLevel: number,
): NativeRelayConfig {
  const tcp = options.target.kind === 'tcp' ? options.target : null;
  return {
    sourceFd: source.fd,
    sourceKind: source.kind,
    unlinkPath: source.unlinkPath,
    validationLevel,
    unixPath: options.target.kind === 'unix' ? options.target.path : undefined,
    address: tcp ? tcp.address : Buffer.alloc(16),
    port: tcp ? tcp.port : 0,
    scopeId: tcp ? tcp.scopeId : 0,
    nat64: options.nat64 !== null,
    nat64Wide: options.nat64?.wide ?? false,
    nat64Prefix: options.nat64?.prefix ?? Buffer.alloc(16),
    congestion: options.congestion ?? undefined,
    proxyVersion: options.proxyVersion,
    connectTimeoutMs: options.connectTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs,
    maxConnections: options.maxConnections,
    logFd: options.quiet ? -1 : 2,
    errorFd: 2,
  };
}
