/**
 * systemd socket activation, as sd_listen_fds(3) defines it: the manager
 * passes LISTEN_FDS sockets from descriptor 3 on, meant for the process whose
 * pid is LISTEN_PID, named by LISTEN_FDNAMES (colon-separated).
 */
import type { ServerOptions } from '../cli/server-flags';
import { UsageError } from '../cli/usage-error';

export const SD_LISTEN_FDS_START = 3;

export interface SystemdSockets {
  fds: number[];
  /** One name per descriptor: the socket unit's FileDescriptorName=, or "unknown". */
  names: string[];
}

const VARIABLES = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'] as const;

/**
 * The sockets passed to this process, or undefined when none are meant for
 * it. The variables are removed either way (like sd_listen_fds(1)) so that
 * programs we start never take them for theirs. Throws on a malformed
 * LISTEN_FDS or a LISTEN_FDNAMES whose count disagrees.
 */
export function takeSystemdSockets(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): SystemdSockets | undefined {
  const listenPid = env.LISTEN_PID;
  const listenFds = env.LISTEN_FDS;
  const fdNames = env.LISTEN_FDNAMES;
  for (const name of VARIABLES) delete env[name];
  if (listenPid === undefined || listenFds === undefined) return undefined;
  if (!/^[0-9]+$/.test(listenPid)) throw new Error(`LISTEN_PID='${listenPid}' is not a process id`);
  if (Number(listenPid) !== pid) return undefined; // meant for another process (e.g. our parent)
  if (!/^[0-9]+$/.test(listenFds) || Number(listenFds) < 1 || Number(listenFds) > 65536)
    throw new Error(`LISTEN_FDS='${listenFds}' is not a positive count of descriptors`);
  const count = Number(listenFds);
  const fds = Array.from({ length: count }, (_, i) => SD_LISTEN_FDS_START + i);
  let names = Array.from({ length: count }, () => 'unknown');
  if (fdNames !== undefined) {
    names = fdNames.split(':');
    if (names.length !== count)
      throw new Error(`LISTEN_FDNAMES names ${names.length} socket${names.length === 1 ? '' : 's'} but LISTEN_FDS=${count}`);
  }
  return { fds, names };
}

/** "fd 3 (web), fd 4 (web)": how the log names inherited sockets. */
export function describeSystemdSockets(s: SystemdSockets): string {
  return s.fds.map((fd, i) => `fd ${fd} (${s.names[i]})`).join(', ');
}

/**
 * Flags that would create or bind a socket make no sense when the socket unit
 * did that already: refuse them (exit 2) rather than silently ignore them.
 * -b stays: listen() on a listening socket re-sets its backlog.
 */
export function checkFlagsWithSystemdSockets(o: ServerOptions, s: SystemdSockets): void {
  const context = `sockets inherited from systemd (LISTEN_FDS=${s.fds.length})`;
  const refused = o.bindingFlags.filter((flag) => flag !== '-b');
  if (o.inheritedListenFd !== undefined) refused.push('-s');
  if (refused.length > 0)
    throw new UsageError(
      `${refused.join(', ')}: not allowed with ${context}; the socket unit sets the address and socket options ` +
        '(ListenStream=, Transparent=, FreeBind=, ReusePort=); only -b applies, re-setting the listen backlog',
    );
  if (o.exec && s.fds.length !== 1)
    throw new UsageError(`-e hands over one socket, but there are ${context}`);
}
