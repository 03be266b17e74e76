/**
 * The user and group ids of a JSON config's `paths` and `outgoing`, as numbers: names are
 * looked up with getpwnam/getgrnam, and a name that does not resolve is an error at its position.
 */
import type { JsonConfig, JsonId } from '../config/json-model';
import type { ServerAddon, SlotRule } from '../native/server-addon';
import { resolveGroup } from './identity';

export function uidOf(addon: ServerAddon, id: JsonId, where: string): number {
  if (typeof id === 'number') return id;
  const pw = addon.lookupUser(id);
  if (!pw) throw new Error(`${where}: user '${id}' not found`);
  return pw.uid;
}

export function gidOf(addon: ServerAddon, id: JsonId, where: string): number {
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
