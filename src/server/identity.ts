import type { ServerAddon } from '../native/server-addon';
import type { ServerOptions } from '../cli/server-flags';
import { UsageError } from '../cli/usage-error';
import { idNumber, idRangeProblem } from '../config/ids';

/** Who the server becomes after binding: resolved before chroot, while /etc/passwd is reachable. */
export interface Identity {
  uid?: number;
  gid?: number;
  groups?: number[]; // undefined: leave the supplementary groups alone
}

/** A user or group as the operator gave it (a name, or a number), and how to report a problem with it. */
export interface IdSource {
  readonly value: string | number;
  readonly problem: (reason: string) => Error;
}

/** The identity asked for, by flags and (JSON config) the daemon section. */
export interface IdentityRequest {
  readonly user?: IdSource;
  readonly group?: IdSource;
  readonly groups?: readonly IdSource[];
  readonly keepGroups: boolean;
  /** How to name the group explicitly, for the message when a numeric user has no passwd entry. */
  readonly groupHint: string;
}

/** -u -g -G -k as given on the command line. */
export function flagIdentityRequest(o: ServerOptions): IdentityRequest {
  const flag = (value: string): IdSource => ({ value, problem: (reason) => new UsageError(reason) });
  return {
    user: o.user === undefined ? undefined : flag(o.user),
    group: o.group === undefined ? undefined : flag(o.group),
    groups: o.supplementaryGroups?.map(flag),
    keepGroups: o.keepGroups,
    groupHint: '-g GROUP',
  };
}

/** A number in range, or null for a name; out of range is the source's error (checked by the parsers already). */
function numericId(source: IdSource): number | null {
  const n = typeof source.value === 'number' ? source.value : idNumber(source.value);
  if (n === null) return null;
  const problem = idRangeProblem(n, String(source.value));
  if (problem) throw source.problem(problem);
  return n;
}

export function resolveGroup(addon: ServerAddon, source: IdSource): number {
  const n = numericId(source);
  if (n !== null) return n;
  const gid = addon.lookupGroup(String(source.value));
  if (gid === null) throw source.problem(`group '${source.value}' not found`);
  return gid;
}

export function resolveIdentity(addon: ServerAddon, request: IdentityRequest): Identity {
  const id: Identity = {};
  const { user } = request;
  if (user !== undefined) {
    const n = numericId(user);
    const pw = n === null ? addon.lookupUser(String(user.value)) : addon.lookupUserById(n);
    if (n === null && !pw) throw user.problem(`user '${user.value}' not found`);
    id.uid = n ?? pw?.uid;
    id.gid = pw?.gid; // the user's primary group, unless a group is given
  }
  if (request.group !== undefined) id.gid = resolveGroup(addon, request.group);
  else if (user !== undefined && id.gid === undefined) {
    // Keeping root's group 0 is never what "run as uid N" means.
    throw user.problem(`uid ${id.uid} has no passwd entry, so it has no primary group to run as; give the group with ${request.groupHint}`);
  }
  if (request.groups !== undefined) {
    id.groups = request.groups.map((g) => resolveGroup(addon, g));
  } else if (!request.keepGroups && (id.uid !== undefined || id.gid !== undefined)) {
    // Changing identity without -k or -G drops root's supplementary groups,
    // so that nothing of the old identity survives.
    id.groups = [];
  }
  return id;
}

/**
 * chroot, then capabilities, groups, gid, uid: the start-up order. Throws on the first failure.
 * `execNext`: -e follows, and the program may need the bounding set as it is. `upgraded`: the
 * old process of a live upgrade set the groups already and the new one inherited them (it
 * could not set them again without CAP_SETGID); gid and uid are set again, which the kernel
 * allows to the ids a process has, and checked.
 */
export function enterSandbox(addon: ServerAddon, chrootDir: string | undefined, id: Identity, execNext: boolean, upgraded = false): void {
  if (chrootDir !== undefined) addon.enterChroot(chrootDir);
  // Serving: no exec may ever bring a capability back. Done while root still holds CAP_SETPCAP.
  if (!execNext) addon.dropBoundingSet();
  // Without uid 0 no setresuid() clears the capabilities: clear this thread's here (the other
  // threads never had them, see native/startup/thread_start.c). Groups and ids change after,
  // so they take effect only where the kernel allows them without a capability.
  if (!addon.uidIsRoot()) addon.clearCapabilities();
  if (id.groups !== undefined && !upgraded) addon.setGroups(id.groups);
  if (id.gid !== undefined) addon.setGid(id.gid);
  if (id.uid !== undefined) addon.setUid(id.uid);
}
