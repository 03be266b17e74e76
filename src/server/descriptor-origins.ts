import type { FdDescription, ServerAddon } from '../native/server-addon';

const AF_UNIX = 1;
const SOCKET_TYPES: Record<number, string> = { 1: 'stream', 2: 'datagram', 3: 'raw', 5: 'seqpacket' };
const SOCKET_DOMAINS: Record<number, string> = { 1: 'a UNIX', 2: 'an IPv4', 10: 'an IPv6', 16: 'a netlink', 17: 'a packet' };
const STANDARD_STREAMS = ["socketbox's standard input", "socketbox's standard output", "socketbox's standard error"];

/** "a pipe", "a UNIX stream socket": what a descriptor is, for error messages. */
function describe(d: FdDescription): string {
  if (!d.socket) return `a ${d.fileType ?? 'file'}`;
  const domain = SOCKET_DOMAINS[d.domain ?? -1] ?? `a domain ${d.domain}`;
  const type = SOCKET_TYPES[d.type ?? -1] ?? `type ${d.type}`;
  return `${domain} ${type} socket`;
}

const carriesConnections = (d: FdDescription): boolean => d.domain === AF_UNIX && (d.type === 2 || d.type === 5);

/**
 * Where socketbox's descriptors come from. A jump-fd / -i target must have
 * been open when socketbox started, before it opened any of its own (so its
 * parent passed it on; the Node runtime opens no sockets of its own), must not
 * be one socketbox uses itself (a listener, a standard stream, the daemon's
 * readiness pipe), and must be a UNIX datagram or seqpacket socket.
 */
export class DescriptorOrigins {
  private readonly own = new Map<number, string>(STANDARD_STREAMS.map((what, fd) => [fd, what]));

  private constructor(
    private readonly addon: ServerAddon,
    /** fd → identity of what was open at start-up; null when /proc/self/fd could not be read. */
    private readonly atStart: ReadonlyMap<number, string | undefined> | null,
  ) {}

  /** Call first thing, before socketbox opens any descriptor. */
  static record(addon: ServerAddon): DescriptorOrigins {
    const fds = addon.openFds();
    return new DescriptorOrigins(addon, fds && new Map(fds.map((fd) => [fd, addon.describeFd(fd).identity])));
  }

  /** fds serve socketbox itself as `what`, e.g. "one of socketbox's listening sockets". */
  claim(fds: readonly number[], what: string): void {
    for (const fd of fds) this.own.set(fd, what);
  }

  /**
   * The sockets socketbox's parent passed on that could be jump-fd or -i targets and are still
   * open as they were: a live upgrade passes them on at the same numbers.
   */
  inheritedTargets(): number[] {
    if (this.atStart === null) return [];
    return [...this.atStart.keys()].filter((fd) => !this.own.has(fd) && this.targetProblem(fd) === null);
  }

  /** Why fd cannot carry connections to a receiver, or null when it can. */
  targetProblem(fd: number): string | null {
    const d = this.addon.describeFd(fd);
    if (!d.open) return `descriptor ${fd} is not open (it must be a socket inherited from the parent)`;
    const own = this.own.get(fd);
    if (own !== undefined) return `descriptor ${fd} is ${own}`;
    if (this.atStart === null) return `descriptor ${fd}: /proc/self/fd was not readable at start-up, so no descriptor counts as inherited`;
    if (!this.atStart.has(fd) || this.atStart.get(fd) !== d.identity)
      return `descriptor ${fd} was opened by socketbox itself, not inherited from its parent`;
    if (!carriesConnections(d)) return `descriptor ${fd} is ${describe(d)}; it must be a UNIX datagram or seqpacket socket`;
    return null;
  }
}
