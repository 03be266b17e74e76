/**
 * The JSON configuration (docs/config-json.md) at run time: read first, since it names its
 * own listeners; its registration sockets and slots feed the registrar, its daemon section
 * the identity, and its rules one table for every listener. A reload may change the rules and
 * slots only.
 */
import type { ServerOptions } from '../cli/server-flags';
import type { JsonConfig } from '../config/json-model';
import { parseJsonConfig } from '../config/json-parser';
import { FastPath } from '../fastpath/fast-path';
import type { ApiConnection, ServerAddon, SlotRule } from '../native/server-addon';
import { compileJsonTable } from '../table/compile-json';
import type { ConfigMode, Listeners, PreparedUpgrade } from './config-mode';
import { flagIdentityRequest, Identity, resolveIdentity } from './identity';
import { SlotOwners } from './json-ids';
import { checkFlagsWithJsonConfig, checkJsonCoversSystemdSockets, withDaemonIdentity, withDaemonSettings } from './json-settings';
import { adoptApiSockets, openApiSockets, openJsonListeners, startJsonListening } from './json-sockets';
import { adoptListeners, LISTENING_SOCKET } from './listeners';
import { logInfo, logWarn, plural } from './log';
import { REGISTRAR_STAT_COUNT } from './registrar-stats';
import { CompiledRules, readConfigFile } from './rules';
import { newCounterBlock } from './stats-layout';
import type { SystemdSockets } from './systemd-activation';

export class JsonMode implements ConfigMode {
  readonly options: ServerOptions;
  readonly registrarCounters: BigUint64Array;
  private readonly slotOwners: SlotOwners;
  private slots: SlotRule[] = [];
  private apiFds: number[] = [];
  private fastPath: FastPath | undefined;

  private constructor(
    private readonly addon: ServerAddon,
    private config: JsonConfig,
    flags: ServerOptions,
  ) {
    if (addon.registrarStatCount !== REGISTRAR_STAT_COUNT) throw new Error('native and JavaScript registrar counters disagree; rebuild socketbox');
    this.registrarCounters = newCounterBlock(REGISTRAR_STAT_COUNT);
    this.options = withDaemonSettings(flags, config);
    this.slotOwners = new SlotOwners(addon);
  }

  /** Flags the file replaces are refused first; then the file is read and checked whole. */
  static read(addon: ServerAddon, flags: ServerOptions): JsonMode {
    checkFlagsWithJsonConfig(flags);
    return new JsonMode(addon, parseJsonConfig(readConfigFile(flags.configFile), flags.configFile), flags);
  }

  checkSystemdSockets(sockets: SystemdSockets): void {
    checkJsonCoversSystemdSockets(this.config, sockets);
  }

  /** The daemon section's identity, and the `outgoing` user names too. */
  resolveIdentity(): Identity {
    const identity = resolveIdentity(this.addon, withDaemonIdentity(flagIdentityRequest(this.options), this.config));
    this.slots = this.slotOwners.rules(this.config);
    return identity;
  }

  /** Inherited sockets (systemd's too) are named by `fd` entries; -d re-execs with them all open. */
  openListeners(_systemd: SystemdSockets | undefined, fromParent: number[] | undefined): Listeners {
    const config = this.config;
    if (fromParent && fromParent.length !== config.incoming.length)
      throw new Error(`${config.file}: \`incoming\` names ${plural(config.incoming.length, 'listener')}, but ${fromParent.length} were handed over; restart socketbox to apply it`);
    const fds = fromParent ? adoptListeners(this.addon, fromParent) : openJsonListeners(this.addon, config);
    return {
      fds,
      ownBacklogs: fds.filter((_, i) => config.incoming[i].kind === 'bind'),
      what: LISTENING_SOCKET,
      // Routing is by listener index (incoming_socket): every worker polls every listener, in order.
      groups: (workers) => Array.from({ length: workers }, () => fds),
      listen: () => startJsonListening(this.addon, config, fds),
    };
  }

  startFastPath(listeners: Listeners): FastPath | undefined {
    const o = this.options;
    // The kernel hands fast-path connections to their receivers without an accept loop,
    // where --source-rate counts: with it, every connection goes through the loops.
    const offBy = o.noFastPath ? '--no-fast-path' : o.sourceRate ? '--source-rate' : undefined;
    return (this.fastPath = FastPath.start(this.addon, this.config, listeners.fds, offBy, { info: logInfo, warn: logWarn, verbose: o.logLevel === 'debug' }));
  }

  openRegistrationSockets(inherited?: number[]): void {
    this.apiFds = inherited ? adoptApiSockets(this.addon, this.config, inherited) : openApiSockets(this.addon, this.config);
  }

  readConfig(): void {
    // read at the start: it names the listeners
  }

  compile(): CompiledRules {
    return compileJsonRules(this.config);
  }

  startRegistrar(adopted: ApiConnection[] = []): void {
    this.addon.startRegistrar(this.apiFds, this.slots, this.config.daemon.apiConnectionsPerUid, this.registrarCounters, adopted);
  }

  /** The new slots apply at once: a connection routed by the new table finds its receiver's slot as the table means it. */
  reload(): CompiledRules {
    const file = this.options.configFile;
    const next = parseJsonConfig(readConfigFile(file), file);
    const problem = reloadProblem(this.config, next);
    if (problem) throw new Error(`${file}: ${problem}`);
    const rules = compileJsonRules(next);
    this.addon.configureRegistrar(this.slotOwners.rules(next), next.daemon.apiConnectionsPerUid);
    this.config = next;
    return rules;
  }

  describe(): string {
    return `${plural(this.config.incoming.length, 'listener')} and ${plural(this.apiFds.length, 'registration socket')} of ${this.options.configFile}`;
  }

  /**
   * The registrar pauses (registrations wait in the sockets' backlogs; registered receivers
   * keep getting connections) and the new process gets the registration sockets and every
   * receiver's API connection with what it registered. Not with the fast path attached: its
   * BPF link and listener-mode sockets stay with this process, and the new one, unprivileged,
   * could not attach the program again.
   */
  prepareUpgrade(): PreparedUpgrade | { refused: string } {
    if (this.fastPath) return { refused: 'the kernel fast path is attached; the new process could not attach it again without CAP_BPF (run with --no-fast-path to upgrade)' };
    const connections = this.addon.pauseRegistrar();
    const inListenerMode = connections.find((c) => c.listenerMode);
    if (inListenerMode) {
      this.addon.resumeRegistrar();
      return { refused: `the receiver of slot ${inListenerMode.slot} registered in listener mode; its listening socket cannot be handed over` };
    }
    return {
      descriptors: [
        ...this.apiFds.map((fd) => ({ fd, name: 'registration' as const })),
        ...connections.map(({ fd, uid, pathNr, slot }) => ({ fd, name: 'api' as const, api: { uid, pathNr, slot } })),
      ],
      abandon: () => this.addon.resumeRegistrar(),
    };
  }

  stopRegistrar(handedOver = false): void {
    if (handedOver) this.addon.releaseRegistrar();
    else this.addon.stopRegistrar();
    this.apiFds.forEach((fd) => this.addon.closeFd(fd));
  }
}

function compileJsonRules(config: JsonConfig): CompiledRules {
  const entries = [...config.sets.values()].reduce((n, s) => n + s.entries.length, 0);
  return {
    table: compileJsonTable(config),
    description: `${config.file}: ${config.sets.size} sets, ${entries} entries, ${config.outgoing.length} slots`,
  };
}

/** What a reload cannot change without a restart (sockets are bound, privileges dropped). */
function reloadProblem(running: JsonConfig, next: JsonConfig): string | null {
  const listeners = (c: JsonConfig) => JSON.stringify(c.incoming.map(({ at: _at, ...rest }) => ({ ...rest, address: 'address' in rest ? Array.from(rest.address) : null })));
  const apis = (c: JsonConfig) => JSON.stringify(c.paths.map(({ at: _at, ...rest }) => rest));
  const daemon = (c: JsonConfig) => JSON.stringify({ ...c.daemon, at: null, idsAt: null, apiConnectionsPerUid: 0, netns: c.finalNetns });
  if (listeners(running) !== listeners(next)) return '`incoming` changed; restart socketbox to apply it';
  if (apis(running) !== apis(next)) return '`paths` changed; restart socketbox to apply it';
  if (daemon(running) !== daemon(next)) return '`daemon` or `final_netns` changed; restart socketbox to apply it';
  return null;
}
