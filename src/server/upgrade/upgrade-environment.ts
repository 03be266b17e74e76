/**
 * How the old process of a live upgrade describes to the new one what it inherits
 * (docs/startup.md, "Started by an upgrade"). socketbox's own variables, never confused with
 * systemd's LISTEN_*:
 *
 *   SOCKETBOX_UPGRADE_PID=1234          the old process; the new one is its child
 *   SOCKETBOX_UPGRADE_FDS=3,4,9         the inherited descriptors, by number
 *   SOCKETBOX_UPGRADE_FDNAMES=listen:listen:ready
 *                                       what each is: listen (a listener, in order),
 *                                       registration (a JSON `paths` socket, in order),
 *                                       api.UID.PATH_NR.SLOT (a receiver's connection to a
 *                                       registration socket: its SO_PEERCRED uid, the socket
 *                                       it came through, its slot or -1), metrics (the
 *                                       --metrics listening socket), control and control-dir
 *                                       (the --control socket and its directory, O_PATH, for
 *                                       removing the file at the stop), ready (the pipe to report
 *                                       on once serving)
 *
 * Descriptors the old process inherited from its own parent (jump-fd, -i targets) keep their
 * numbers and are not named: the new process finds them where its command line says.
 */
import type { ApiConnection } from '../../native/server-addon';

export const UPGRADE_VARIABLES = ['SOCKETBOX_UPGRADE_PID', 'SOCKETBOX_UPGRADE_FDS', 'SOCKETBOX_UPGRADE_FDNAMES'] as const;

/** A descriptor the new process inherits, and what it is to it. */
export type InheritedDescriptor = { fd: number; name: 'listen' | 'registration' | 'metrics' | 'control' | 'control-dir' | 'ready' } | { fd: number; name: 'api'; api: Omit<ApiConnection, 'fd'> };

const SIMPLE_NAMES: readonly string[] = ['listen', 'registration', 'metrics', 'control', 'control-dir', 'ready'];

/** The --control socket handed over: its listening socket and its directory (O_PATH). */
export interface ControlHandover {
  fd: number;
  dirFd: number;
}
const API_NAME = /^api\.([0-9]+)\.([0-9]+)\.(-1|[0-9]+)$/;

export interface UpgradeHandover {
  /** The old process's pid. */
  oldPid: number;
  listenFds: number[];
  registrationFds: number[];
  apiConnections: ApiConnection[];
  metricsFd: number | undefined;
  control: ControlHandover | undefined;
  readyFd: number;
}

/** The variables for the new process: `inherited` in the order the new one takes them. */
export function upgradeEnvironment(oldPid: number, inherited: InheritedDescriptor[]): Record<string, string> {
  const name = (d: InheritedDescriptor): string => (d.name === 'api' ? `api.${d.api.uid}.${d.api.pathNr}.${d.api.slot}` : d.name);
  return {
    SOCKETBOX_UPGRADE_PID: String(oldPid),
    SOCKETBOX_UPGRADE_FDS: inherited.map((d) => d.fd).join(','),
    SOCKETBOX_UPGRADE_FDNAMES: inherited.map(name).join(':'),
  };
}

/**
 * In the new process: what the old one handed over, or undefined when this process was not
 * started by an upgrade (or the variables are meant for another: the old pid must be our
 * parent's). The variables are removed either way, so nothing socketbox starts sees them.
 */
export function takeUpgradeHandover(env: NodeJS.ProcessEnv = process.env, parentPid: number = process.ppid): UpgradeHandover | undefined {
  const [pidText, fdsText, namesText] = UPGRADE_VARIABLES.map((name) => env[name]);
  for (const name of UPGRADE_VARIABLES) delete env[name];
  if (pidText === undefined || fdsText === undefined || namesText === undefined) return undefined;
  if (!/^[0-9]+$/.test(pidText)) throw new Error(`SOCKETBOX_UPGRADE_PID='${pidText}' is not a process id`);
  if (Number(pidText) !== parentPid) return undefined;
  const fds = fdsText.split(',');
  const names = namesText.split(':');
  if (fds.some((fd) => !/^[0-9]+$/.test(fd))) throw new Error(`SOCKETBOX_UPGRADE_FDS='${fdsText}' is not a list of descriptors`);
  if (names.length !== fds.length) throw new Error(`SOCKETBOX_UPGRADE_FDNAMES names ${names.length} descriptors but SOCKETBOX_UPGRADE_FDS has ${fds.length}`);
  const unknown = names.find((n) => !SIMPLE_NAMES.includes(n) && !API_NAME.test(n));
  if (unknown !== undefined) throw new Error(`SOCKETBOX_UPGRADE_FDNAMES: unknown name '${unknown}'`);
  const named = (name: string): number[] => fds.filter((_, i) => names[i] === name).map(Number);
  const ready = named('ready');
  if (ready.length !== 1) throw new Error('SOCKETBOX_UPGRADE_FDNAMES must name one ready pipe');
  const apiConnections = names.flatMap((n, i) => {
    const m = API_NAME.exec(n);
    return m ? [{ fd: Number(fds[i]), uid: Number(m[1]), pathNr: Number(m[2]), slot: Number(m[3]) }] : [];
  });
  const metrics = named('metrics');
  if (metrics.length > 1) throw new Error('SOCKETBOX_UPGRADE_FDNAMES names more than one metrics socket');
  const [control, controlDir] = [named('control'), named('control-dir')];
  if (control.length > 1 || control.length !== controlDir.length) throw new Error('SOCKETBOX_UPGRADE_FDNAMES must name one control socket with its control-dir, or neither');
  return {
    oldPid: Number(pidText),
    listenFds: named('listen'),
    registrationFds: named('registration'),
    apiConnections,
    metricsFd: metrics[0],
    control: control.length === 1 ? { fd: control[0], dirFd: controlDir[0] } : undefined,
    readyFd: ready[0],
  };
}
