import type * as http from 'node:http';
/** Where --metrics listens: "[ADDR:]PORT", loopback unless an address is given. Apart from the
 * endpoint so checking the flag does not load node:http (start-up time, docs/startup.md). */
export function parseMetricsAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(text);
  if (!m || Number(m[3]) > 65535) throw new Error(`--metrics: expected [ADDR:]PORT, e.g. 9464 or 127.0.0.1:9464 or [::1]:9464, got '${text}'`);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port: Number(m[3]) };
}

/** The descriptor of the server's listening socket, for a live upgrade to hand over. */
export function metricsSocketFd(server: http.Server): number | undefined {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
