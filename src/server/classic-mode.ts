/**
 * The classic configuration (docs/config-classic.md): a rule file, or one target for every
 * connection (-S, -i). Connections come from the listeners the flags describe, from
 * systemd's or -s's inherited sockets, or from a registration at another socketbox (-P).
 * The file is read before chroot and parsed after the privilege drop.
 */
import type { ServerOptions } from '../cli/server-flags';
import type { ServerAddon } from '../native/server-addon';
import type { ConfigMode, Listeners, NothingToReload, PreparedUpgrade } from './config-mode';
import type { DescriptorOrigins } from './descriptor-origins';
import { flagIdentityRequest, Identity, resolveIdentity } from './identity';
import { adoptListeners, listenerGroups, LISTENING_SOCKET, openListeners, startListening } from './listeners';
import { compileConfigText, compileForcedTarget, CompiledRules, readConfigFile } from './rules';
import { checkFlagsWithSystemdSockets, describeSystemdSockets, type SystemdSockets } from './systemd-activation';

const REGISTRATION_TIMEOUT_MS = 10_000;

export class ClassicMode implements ConfigMode {
  readonly registrarCounters = undefined;
  private forced: CompiledRules | null = null;
  private text = '';
  private intake = '';

  constructor(
    private readonly addon: ServerAddon,
    private readonly origins: DescriptorOrigins,
    readonly options: ServerOptions,
  ) {}

  checkSystemdSockets(sockets: SystemdSockets): void {
    checkFlagsWithSystemdSockets(this.options, sockets);
  }

  resolveIdentity(): Identity {
    return resolveIdentity(this.addon, flagIdentityRequest(this.options));
  }

  openListeners(systemd: SystemdSockets | undefined, fromParent: number[] | undefined): Listeners {
    const o = this.options;
    if (o.registration) return this.openRegistration(o.registration, fromParent);
    const fds = fromParent ? adoptListeners(this.addon, fromParent) : openListeners(this.addon, o, systemd);
    const inherited = systemd !== undefined || o.inheritedListenFd !== undefined;
    this.intake = systemd ? `${describeSystemdSockets(systemd)} from systemd` : o.inheritedListenFd !== undefined ? `fd ${o.inheritedListenFd}` : `[${o.listenAddress}]:${o.port}`;
    return {
      fds,
      ownBacklogs: inherited ? [] : fds,
      what: LISTENING_SOCKET,
      groups: (workers) => listenerGroups(fds, workers),
      listen: () => startListening(this.addon, o, fds, systemd !== undefined),
    };
  }

  /** -P: this server becomes a receiver of another one; a -d copy serves the registration its parent made. */
  private openRegistration(r: { group: number; path: string }, fromParent: number[] | undefined): Listeners {
    const fds = fromParent ?? [this.register(r)];
    this.intake = `registration as group ${r.group} at ${r.path}`;
    return {
      fds,
      ownBacklogs: fds,
      what: `socketbox's registration at ${r.path} (-P)`,
      groups: (workers) => listenerGroups(fds, workers),
      listen: () => undefined, // the registration is live already
    };
  }

  private register(r: { group: number; path: string }): number {
    try {
      return this.addon.registerAt(r.path, r.group, REGISTRATION_TIMEOUT_MS);
    } catch (err) {
      throw new Error(`-P: cannot register as group ${r.group} at ${r.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  startFastPath(): undefined {
    return undefined; // listener-mode receivers register with a JSON config's server
  }

  openRegistrationSockets(): void {
    // receivers register only with a JSON config's server
  }

  readConfig(): void {
    const o = this.options;
    if (o.exec) return; // -e: another program takes the connections
    this.forced = compileForcedTarget(this.origins, o);
    if (!this.forced) this.text = readConfigFile(o.configFile);
  }

  compile(): CompiledRules {
    return this.forced ?? compileConfigText(this.origins, this.text, this.options.configFile, this.options);
  }

  startRegistrar(): void {
    // no registrar without a JSON config
  }

  reload(): CompiledRules | NothingToReload {
    const o = this.options;
    if (this.forced) return { nothingToReload: 'no config file in use (-S/-i)' };
    // Under -x the path resolves inside the chroot.
    return compileConfigText(this.origins, readConfigFile(o.configFile), o.configFile, o);
  }

  describe(): string {
    return this.intake;
  }

  prepareUpgrade(): PreparedUpgrade {
    // The listeners (or the -P registration) and the jump-fd/-i targets are all there is.
    return { descriptors: [], abandon: () => undefined };
  }

  stopRegistrar(): void {
    // no registrar without a JSON config
  }
}
