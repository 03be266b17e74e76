import type { ServerAddon } from '../native/server-addon';
import type { ServerOptions } from '../cli/server-flags';
import { UsageError } from '../cli/usage-error';
import { parseIPv4, parseIPv6 } from '../net/address';
import type { SystemdSockets } from './systemd-activation';

/** Parses -l: an IPv6 address (optionally %scope), or IPv4 which becomes ::ffff:a.b.c.d. */
export function parseListenAddress(text: string): { addr: Buffer; scopeId: number } {
  const pct = text.indexOf('%');
  const host = pct < 0 ? text : text.slice(0, pct);
  const scope = pct < 0 ? '' : text.slice(pct + 1);
  const bytes = parseIPv6(parseIPv4(host) ? `::ffff:${host}` : host);
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
 * inherited (systemd's, or -s), or bound here: one, or one per worker with -r.
 */
export function openListeners(addon: ServerAddon, o: ServerOptions, systemd?: SystemdSockets): number[] {
  if (systemd) {
    systemd.fds.forEach((fd, i) => {
      try {
        addon.adoptListener(fd);
      } catch (err) {
        throw new Error(`systemd socket ${fd} (${systemd.names[i]}) ${(err as Error).message.replace(/^descriptor \d+ /, '')}`, { cause: err });
      }
    });
    return systemd.fds;
  }
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

/** What a listener is to socketbox, for a jump-fd or -i that names one. */
export const LISTENING_SOCKET = "one of socketbox's listening sockets";

/** -d: the daemon copy takes over the listeners its parent opened, checked and set up as its own. */
export function adoptListeners(addon: ServerAddon, fds: number[]): number[] {
  for (const fd of fds) addon.adoptListener(fd);
  return fds;
}

/**
 * Which listeners each worker polls. One each when there are as many as
 * workers (-r, or a socket unit with N ReusePort= sockets): the kernel
 * spreads connections and no two loops contend; otherwise every worker
 * polls them all (EPOLLEXCLUSIVE wakes one per connection).
 */
export function listenerGroups(fds: number[], workers: number): number[][] {
  if (fds.length === workers && workers > 1) return fds.map((fd) => [fd]);
  return Array.from({ length: workers }, () => fds);
}

/**
 * listen() on every listener. systemd's sockets already listen with the
 * unit's Backlog=: only an explicit -b re-applies listen() to change it.
 */
export function startListening(addon: ServerAddon, o: ServerOptions, fds: number[], fromSystemd: boolean): void {
  if (fromSystemd && !o.bindingFlags.includes('-b')) return;
  for (const fd of fds) addon.listen(fd, o.backlog);
}
