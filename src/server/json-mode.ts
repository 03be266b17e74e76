/**
 * The JSON configuration (docs/config-json.md) at run time: its listeners, registration
 * sockets, slots and daemon settings, turned into descriptors, options and a
 * rule table. The startup order stays that of docs/startup.md; serve.ts calls these steps.
 */
import type { ServerOptions } from '../cli/server-flags';
import { UsageError } from '../cli/usage-error';
import type { JsonConfig, JsonId } from '../config/json-model';
import { ID_UNCHANGED } from '../config/json-model';
import type { ServerAddon, SlotRule } from '../native/server-addon';
import { compileJsonTable } from '../table/compile-json';
import { IdentityRequest, IdSource, resolveGroup } from './identity';
import { ConfigError } from '../config/config-error';
import type { SourcePos } from '../config/model';
import type { CompiledRules } from './rules';
import { describeSystemdSockets, type SystemdSockets } from './systemd-activation';

/** Backlog of the registration (API) sockets: receivers connect there rarely. */
const API_BACKLOG = 128;

/** Command-line flags that describe what a JSON config describes itself. */
export function checkFlagsWithJsonConfig(o: ServerOptions): void {
  const clash = [
    ...o.bindingFlags,
    ...(o.inheritedListenFd !== undefined ? ['-s'] : []),
    ...(o.forcedUnixPath !== undefined ? ['-S'] : []),
    ...(o.forcedFd !== undefined ? ['-i'] : []),
    ...(o.registration !== undefined ? ['-P'] : []),
    ...(o.pathSubstitution ? ['-U'] : []),
    ...(o.exec ? ['-e'] : []),
  ];
  if (clash.length > 0)
    throw new UsageError(`${o.configFile} is a JSON config, which names its own listeners and targets: ${clash.join(' ')} cannot be used with it`);
}

/**
 * Under socket activation every socket systemd passed must be an `fd` listener
 * of the config: one it does not name would queue connections nobody accepts.
 */
export function checkJsonCoversSystemdSockets(config: JsonConfig, sockets: SystemdSockets): void {
  const named = new Set(config.incoming.flatMap((l) => (l.kind === 'fd' ? [l.fd] : [])));
  const unnamed = sockets.fds.filter((fd) => !named.has(fd));
  if (unnamed.length === 0) return;
  const which = describeSystemdSockets({ fds: unnamed, names: unnamed.map((fd) => sockets.names[sockets.fds.indexOf(fd)]) });
  throw new Error(
    `${config.file}: systemd passed ${which}, which no "incoming" entry names; its connections would never be accepted. ` +
      `Add ${unnamed.map((fd) => `{"fd": ${fd}}`).join(', ')} to "incoming", or remove the socket from the unit`,
  );
}

/** The daemon section fills in what -x did not say: flags win over the file. */
export function withDaemonSettings(o: ServerOptions, config: JsonConfig): ServerOptions {
  return { ...o, chrootDir: o.chrootDir ?? config.daemon.chroot ?? undefined };
}

/**
 * The daemon section's uid, gid and groups fill in what -u -g -G -k did not say (-k: keep the
 * groups, so daemon.groups does not apply); a problem points at the value.
 */
export function withDaemonIdentity(request: IdentityRequest, config: JsonConfig): IdentityRequest {
  const d = config.daemon;
  const source = (value: JsonId, at: SourcePos, where: string): IdSource => ({
    value,
    problem: (reason) => new ConfigError(config.file, at.line, at.column, `${where}: ${reason}`),
  });
  return {
    ...request,
    user: request.user ?? (d.uid === null ? undefined : source(d.uid, d.idsAt.uid!, 'daemon.uid')),
    group: request.group ?? (d.gid === null ? undefined : source(d.gid, d.idsAt.gid!, 'daemon.gid')),
    groups: request.groups ?? (request.keepGroups ? undefined : d.groups?.map((g, i) => source(g, d.idsAt.groups[i], `daemon.groups[${i}]`))),
    groupHint: request.user ? request.groupHint : '"gid" in daemon (or -g GROUP)',
  };
}

function uidOf(addon: ServerAddon, id: JsonId, where: string): number {
  if (typeof id === 'number') return id;
  const pw = addon.lookupUser(id);
  if (!pw) throw new Error(`${where}: user '${id}' not found`);
  return pw.uid;
}

function gidOf(addon: ServerAddon, id: JsonId, where: string): number {
  return resolveGroup(addon, { value: id, problem: (reason) => new Error(`${where}: ${reason}`) });
}

/**
 * Who may take each slot. User names are resolved at start-up, before chroot, while /etc/passwd
 * is reachable; a reload runs chrooted and as the new user, so it keeps those resolutions and
 * looks up only names that are new (which may not resolve there: an error at the name's position).
 */
export class SlotOwners {
  private readonly uids = new Map<string, number>();

  constructor(private readonly addon: ServerAddon) {}

  rules(config: JsonConfig): SlotRule[] {
    return config.outgoing.map((s) => ({ uid: this.uid(s.uid, `${config.file}:${s.at.line}:${s.at.column}: outgoing[${s.slot}]`), pathNr: s.pathNr }));
  }

  private uid(id: JsonId, where: string): number {
    if (typeof id === 'number') return id;
    const uid = this.uids.get(id) ?? uidOf(this.addon, id, where);
    this.uids.set(id, uid);
    return uid;
  }
}

/** Binds (or adopts) every `incoming` listener, in order: index = incoming_socket. */
export function openJsonListeners(addon: ServerAddon, config: JsonConfig): number[] {
  const fds: number[] = [];
  try {
    for (const l of config.incoming) {
      const where = `${config.file}:${l.at.line}:${l.at.column}: incoming[${l.index}]`;
      try {
        if (l.kind === 'fd') {
          addon.adoptListener(l.fd);
          fds.push(l.fd);
          continue;
        }
        const previousNetns = l.netns === null ? null : addon.enterNetns(l.netns);
        try {
          fds.push(
            addon.bindListener({
              addr: Buffer.from(l.address),
              scopeId: 0,
              port: l.port,
              transparent: l.transparent,
              freebind: l.freebind,
              reuseaddr: l.reuseaddr,
              reuseport: l.reuseport,
            }),
          );
        } finally {
          if (previousNetns !== null) addon.leaveNetns(previousNetns);
        }
      } catch (err) {
        throw new Error(`${where}: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    fds.forEach((fd, i) => config.incoming[i].kind === 'bind' && addon.closeFd(fd));
    throw err;
  }
  return fds;
}

/** listen() on the listeners that need it: bound ones, and inherited ones marked "listen". */
export function startJsonListening(addon: ServerAddon, config: JsonConfig, fds: number[]): void {
  config.incoming.forEach((l, i) => {
    if (l.kind === 'bind' || l.listen) addon.listen(fds[i], l.backlog);
    else if (!addon.isListeningSocket(fds[i]))
      throw new Error(`${config.file}:${l.at.line}:${l.at.column}: incoming[${i}]: descriptor ${l.fd} is not listening; add "listen": true to listen on it`);
  });
}

/** The registration sockets of `paths`, in order: index = path_nr. */
export function openApiSockets(addon: ServerAddon, config: JsonConfig): number[] {
  if (config.finalNetns !== null) addon.closeFd(addon.enterNetns(config.finalNetns)); // stays there
  const fds: number[] = [];
  for (const p of config.paths) {
    const where = `${config.file}:${p.at.line}:${p.at.column}: paths[${p.index}]`;
    try {
      const uid = p.uid === ID_UNCHANGED ? -1 : uidOf(addon, p.uid, where);
      const gid = p.gid === ID_UNCHANGED ? -1 : gidOf(addon, p.gid, where);
      fds.push(addon.openRegistrationSocket(p.socket, p.mode, uid, gid, API_BACKLOG));
    } catch (err) {
      fds.forEach((fd) => addon.closeFd(fd));
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  }
  return fds;
}

export function compileJsonRules(config: JsonConfig): CompiledRules {
  const entries = [...config.sets.values()].reduce((n, s) => n + s.entries.length, 0);
  return {
    table: compileJsonTable(config),
    description: `${config.file}: ${config.sets.size} sets, ${entries} entries, ${config.outgoing.length} slots`,
  };
}

/** What a reload cannot change without a restart (sockets are bound, privileges dropped). */
export function reloadProblem(running: JsonConfig, next: JsonConfig): string | null {
  const listeners = (c: JsonConfig) => JSON.stringify(c.incoming.map(({ at: _at, ...rest }) => ({ ...rest, address: 'address' in rest ? Array.from(rest.address) : null })));
  const apis = (c: JsonConfig) => JSON.stringify(c.paths.map(({ at: _at, ...rest }) => rest));
  const daemon = (c: JsonConfig) => JSON.stringify({ ...c.daemon, at: null, idsAt: null, apiConnectionsPerUid: 0, netns: c.finalNetns });
  if (listeners(running) !== listeners(next)) return '`incoming` changed; restart socketbox to apply it';
  if (apis(running) !== apis(next)) return '`paths` changed; restart socketbox to apply it';
  if (daemon(running) !== daemon(next)) return '`daemon` or `final_netns` changed; restart socketbox to apply it';
  return null;
}
