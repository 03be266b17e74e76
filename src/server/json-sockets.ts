/**
 * The sockets of a JSON config: its `incoming` listeners (bound, in their network namespace,
 * or inherited) and its `paths` registration sockets, in the config's order, with errors at
 * the entry's position.
 */
import { ID_UNCHANGED, type JsonConfig } from '../config/json-model';
import type { ServerAddon } from '../native/server-addon';
import { gidOf, uidOf } from './json-ids';

/** Backlog of the registration (API) sockets: receivers connect there rarely. */
const API_BACKLOG = 128;

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
        throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
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
      throw new Error(`${where}: ${(err as Error).message}`, { cause: err });
    }
  }
  return fds;
}

/**
 * A live upgrade's new process: the registration sockets the old one made, in `paths` order.
 * It is in final_netns already (it inherited the old one's namespace).
 */
export function adoptApiSockets(addon: ServerAddon, config: JsonConfig, fds: number[]): number[] {
  if (fds.length !== config.paths.length)
    throw new Error(`${config.file}: \`paths\` names ${config.paths.length} registration sockets, but ${fds.length} were handed over; restart socketbox to apply it`);
  fds.forEach((fd, i) => {
    if (!addon.isListeningSocket(fd)) throw new Error(`${config.file}: paths[${i}]: the handed-over descriptor ${fd} is not a listening socket`);
    addon.closeOnExec(fd);
  });
  return fds;
}
