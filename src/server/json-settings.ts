/**
 * Where a JSON config meets the command line and systemd: flags it replaces are refused,
 * systemd's sockets must be among its listeners, and its daemon section fills in what the
 * flags did not say (flags win over the file).
 */
import type { ServerOptions } from '../cli/server-flags';
import { UsageError } from '../cli/usage-error';
import { ConfigError } from '../config/config-error';
import type { JsonConfig, JsonId } from '../config/json-model';
import type { SourcePos } from '../config/model';
import type { IdentityRequest, IdSource } from './identity';
import { describeSystemdSockets, type SystemdSockets } from './systemd-activation';

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
