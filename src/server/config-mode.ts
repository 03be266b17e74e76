/**
 * What differs between the two ways of configuring socketbox, as the start-up steps of
 * serve() (docs/startup.md) ask for it: the classic one (a rule file, -S, -i, -P;
 * classic-mode.ts) and a JSON config (json-mode.ts). serve() calls every step of either
 * mode in the same order; a mode with nothing to do at a step does nothing.
 */
import type { ServerOptions } from '../cli/server-flags';
import { isJsonConfigFile } from '../config/config-file-kind';
import type { FastPath } from '../fastpath/fast-path';
import type { ApiConnection, ServerAddon } from '../native/server-addon';
import { ClassicMode } from './classic-mode';
import type { DescriptorOrigins } from './descriptor-origins';
import type { Identity } from './identity';
import type { CompiledRules } from './rules';
import type { SystemdSockets } from './systemd-activation';
import type { InheritedDescriptor } from './upgrade/upgrade-environment';

/** The sockets connections come from, as a mode opened them. */
export interface Listeners {
  /** In order: a JSON config's incoming_socket is the index. */
  readonly fds: number[];
  /**
   * Those whose kernel backlog a stop still serves: the ones socketbox bound itself, and a -P
   * registration (what the upstream server sent is ours to deliver). An inherited socket's
   * backlog belongs to whoever takes it over next.
   */
  readonly ownBacklogs: number[];
  /** What they are to socketbox, for a jump-fd or -i that names one of them. */
  readonly what: string;
  /** The descriptors each of `workers` accept loops polls. */
  groups(workers: number): number[][];
  /** listen() wherever socketbox must (a socket it bound, a registration that is live already). */
  listen(): void;
}

export interface PreparedUpgrade {
  descriptors: InheritedDescriptor[];
  abandon(): void;
}

/** -S, -i: the rules come from the flags; there is no file to read again. */
export interface NothingToReload {
  nothingToReload: string;
}

export interface ConfigMode {
  /** The flags, with what the config file says where they are silent: flags win over the file. */
  readonly options: ServerOptions;
  /** The registrar's counters, for the metrics (JSON: receivers register with socketbox). */
  readonly registrarCounters: BigUint64Array | undefined;
  /** Refuses what does not fit the sockets systemd passed. */
  checkSystemdSockets(sockets: SystemdSockets): void;
  /** Who to become, with every name resolved while /etc/passwd and /etc/group are reachable. */
  resolveIdentity(): Identity;
  /** Binds or adopts the listeners; a -d copy takes its parent's (`fromParent`) instead. */
  openListeners(systemd: SystemdSockets | undefined, fromParent: number[] | undefined): Listeners;
  /** The kernel fast path, attached while privileged, in the listeners' network namespace. */
  startFastPath(listeners: Listeners): FastPath | undefined;
  /** The sockets receivers register at, made by the process that serves them, before chroot; a live upgrade's new process inherits them. */
  openRegistrationSockets(inherited?: number[]): void;
  /** Reads what must be read before chroot: the file's path may not resolve inside it. */
  readConfig(): void;
  /** Parses (where not done yet) and compiles the rules, after the privilege drop. */
  compile(): CompiledRules;
  /** Receivers may register from now on; `adopted`: the connections a live upgrade's old process served. */
  startRegistrar(adopted?: ApiConnection[]): void;
  /** Reads and compiles the config again, as the new user and inside the chroot; throws why not. */
  reload(): CompiledRules | NothingToReload;
  /** Where connections come from, for the start-up log line. */
  describe(listeners: Listeners): string;
  /**
   * A live upgrade (docs/startup.md, "Live upgrade"): what the new process inherits besides the
   * listeners, or why the mode cannot hand over what it serves. abandon() undoes the
   * preparation when the upgrade fails.
   */
  prepareUpgrade(): PreparedUpgrade | { refused: string };
  /**
   * After the loops stopped: registrations end, the registration sockets are closed.
   * handedOver: a live upgrade's new process serves them; this one only lets go of its copies.
   */
  stopRegistrar(handedOver?: boolean): void;
}

/** The mode the config file asks for; a JSON config is read now, since it names the listeners. */
export async function readConfigMode(addon: ServerAddon, origins: DescriptorOrigins, flags: ServerOptions): Promise<ConfigMode> {
  // The JSON mode (its parser, compiler and fast path) is loaded only for a JSON config.
  if (isJsonConfigFile(flags.configFile)) return (await import('./json-mode')).JsonMode.read(addon, flags);
  return new ClassicMode(addon, origins, flags);
}
