import * as net from 'node:net';
import type { ServerAddon } from '../native/server-addon';
import type { ServerOptions } from '../cli/server-flags';
import { UsageError } from '../cli/usage-error';
import { parseIPv6 } from '../net/address';

/** Parses -l: an IPv6 address (optionally %scope), or IPv4 which becomes ::ffff:a.b.c.d. */
export function parseListenAddress(text: string): { addr: Buffer; scopeId: number } {
  const pct = text.indexOf('%');
  const host = pct < 0 ? text : text.slice(0, pct);
  const scope = pct < 0 ? '' : text.slice(pct + 1);
  const bytes = parseIPv6(net.isIPv4(host) ? `::ffff:${host}` : host);
  if (!bytes) throw new UsageError(`-l: '${text}' is not an IP address`);
  let scopeId = 0;
  if (scope !== '') {
    if (!/^[0-9]+$/.test(scope)) throw new UsageError(`-l: the scope in '${text}' must be a numeric interface index`);
    scopeId = Number(scope);
  }
  return { addr: Buffer.from(bytes), scopeId };
}

/**
 * The listening sockets the workers accept on, owned by the main thread:
 * inherited (-s), or bound here: one, or one per worker with -r.
 */
export function openListeners(addon: ServerAddon, o: ServerOptions): number[] {
  if (o.inheritedListenFd !== undefined) {
    addon.adoptListener(o.inheritedListenFd);
    return [o.inheritedListenFd];
  }
  const { addr, scopeId } = parseListenAddress(o.listenAddress);
  const count = o.reuseport && !o.exec ? o.workers : 1;
  const fds: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      fds.push(
        addon.bindListener({
          addr,
          scopeId,
          port: o.port,
          transparent: o.transparent,
          freebind: o.freebind,
          reuseaddr: o.reuseaddr,
          reuseport: o.reuseport,
        }),
      );
    }
  } catch (err) {
    fds.forEach((fd) => addon.closeFd(fd));
    throw err;
  }
  return fds;
}
