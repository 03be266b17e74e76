import type { ServerAddon } from '../native/server-addon';
import type { ServerOptions } from '../cli/server-flags';
import { UsageError } from '../cli/usage-error';

/** Who the server becomes after binding: resolved before chroot, while /etc/passwd is reachable. */
export interface Identity {
  uid?: number;
  gid?: number;
  groups?: number[]; // undefined: leave the supplementary groups alone
}

const NUMERIC = /^[0-9]+$/;

export function resolveGroup(addon: ServerAddon, name: string): number {
  if (NUMERIC.test(name)) return Number(name);
  const gid = addon.lookupGroup(name);
  if (gid === null) throw new UsageError(`group '${name}' not found`);
  return gid;
}

export function resolveIdentity(addon: ServerAddon, o: ServerOptions): Identity {
  const id: Identity = {};
  if (o.user !== undefined) {
    if (NUMERIC.test(o.user)) {
      id.uid = Number(o.user);
    } else {
      const pw = addon.lookupUser(o.user);
      if (!pw) throw new UsageError(`user '${o.user}' not found`);
      id.uid = pw.uid;
      id.gid = pw.gid; // a user name brings its primary group, unless -g says otherwise
    }
  }
  if (o.group !== undefined) id.gid = resolveGroup(addon, o.group);
  if (o.supplementaryGroups !== undefined) {
    id.groups = o.supplementaryGroups.map((g) => resolveGroup(addon, g));
  } else if (!o.keepGroups && (id.uid !== undefined || id.gid !== undefined)) {
    // Changing identity without -k or -G drops root's supplementary groups,
    // so that nothing of the old identity survives.
    id.groups = [];
  }
  return id;
}

/** chroot, then groups, gid, uid: the order of docs/startup.md. Throws on the first failure. */
export function enterSandbox(addon: ServerAddon, chrootDir: string | undefined, id: Identity): void {
  if (chrootDir !== undefined) addon.enterChroot(chrootDir);
  if (id.groups !== undefined) addon.setGroups(id.groups);
  if (id.gid !== undefined) addon.setGid(id.gid);
  if (id.uid !== undefined) addon.setUid(id.uid);
}
