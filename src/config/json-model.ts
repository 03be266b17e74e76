/**
 * The checked model of a JSON config (docs/config-json.md, the registration server): what
 * parseJsonConfig produces and what the table compiler, the reference lookup
 * and the `--check` summary consume. Everything in it has been validated.
 *
 * Match conditions are kept in the classic 36-byte tuple layout
 * (docs/table-format.md): [0,16) local address, [16,32) remote address,
 * [32,34) local port big-endian, [34,36) remote port big-endian. The listener
 * ("incoming socket") index is not part of the tuple and is kept apart.
 */
import { SourcePos } from './model';

export const TUPLE_SIZE = 36;

/** A uid or gid as written: a number (also when written as a string of digits), or a user/group name the server resolves when it starts. */
export type JsonId = number | string;

/** `uid`/`gid` of a registration socket when not given: leave the owner as created. */
export const ID_UNCHANGED = -1;

interface ListenerCommon {
  /** The listener's "incoming socket number": its index in `incoming`. */
  readonly index: number;
  readonly at: SourcePos;
  readonly backlog: number;
}

/** `{"fd": N}`: a socket inherited from whoever started the server. */
export interface JsonFdListener extends ListenerCommon {
  readonly kind: 'fd';
  readonly fd: number;
  /** Call listen(backlog) on it; otherwise it is expected to listen already. */
  readonly listen: boolean;
}

/** `{"address": ..., "port": ...}`: a socket the server binds. */
export interface JsonBindListener extends ListenerCommon {
  readonly kind: 'bind';
  /** 16 bytes; IPv4 text becomes `::ffff:a.b.c.d`. */
  readonly address: Uint8Array;
  readonly port: number;
  readonly transparent: boolean;
  readonly freebind: boolean;
  readonly reuseaddr: boolean;
  readonly reuseport: boolean;
  /** Network namespace to bind in (a path like /run/netns/NAME), or null. */
  readonly netns: string | null;
}

export type JsonListener = JsonFdListener | JsonBindListener;

/** A registration socket (`paths[i]`): receivers connect here to take a slot. */
export interface JsonApiSocket {
  readonly index: number;
  readonly at: SourcePos;
  /** A filesystem path, or `@name` for an abstract socket. */
  readonly socket: string;
  /** Permission bits, e.g. 0o660. */
  readonly mode: number;
  /** ID_UNCHANGED when not given. */
  readonly uid: JsonId;
  readonly gid: JsonId;
}

/** An outgoing slot (`outgoing[i]`): the connection registered on it takes what `o:i` routes. */
export interface JsonSlot {
  readonly slot: number;
  readonly at: SourcePos;
  /** The only uid (SO_PEERCRED) allowed to register for this slot. */
  readonly uid: JsonId;
  /** Index into `paths`: the registration socket this slot is taken on. */
  readonly pathNr: number;
}

export interface JsonDaemon {
  /** Where `daemon` was written; null when absent (all defaults). */
  readonly at: SourcePos | null;
  readonly uid: JsonId | null;
  readonly gid: JsonId | null;
  readonly groups: readonly JsonId[] | null;
  /** Where uid, gid and each of groups were written: problems found at start-up point there. */
  readonly idsAt: { readonly uid: SourcePos | null; readonly gid: SourcePos | null; readonly groups: readonly SourcePos[] };
  readonly chroot: string | null;
  /** Our extension: how many registration API connections one uid may hold open. */
  readonly apiConnectionsPerUid: number;
}

export const DEFAULT_API_CONNECTIONS_PER_UID = 5;

export type JsonAction =
  | { readonly kind: 'jump'; readonly set: string; readonly at: SourcePos }
  | { readonly kind: 'slot'; readonly slot: number; readonly at: SourcePos };

export interface JsonEntry {
  /** The entry object's `{`. */
  readonly at: SourcePos;
  /** Already masked: `pattern & mask == pattern`. */
  readonly pattern: Uint8Array;
  readonly mask: Uint8Array;
  /** `incoming_socket`: the listener index the connection must have arrived on, or null for any. */
  readonly listener: number | null;
  readonly action: JsonAction;
}

interface SetCommon {
  readonly name: string;
  /** The set's key in `rules`. */
  readonly at: SourcePos;
  readonly entries: readonly JsonEntry[];
}

/** Entries in order; the first whose `(tuple & mask) == pattern` (and listener) wins. */
export interface JsonRuleSet extends SetCommon {
  readonly kind: 'rule';
}

/** Exact match of `tuple & mask` (plus the listener when listenerMasked) against each entry's key. */
export interface JsonMapSet extends SetCommon {
  readonly kind: 'map';
  readonly mask: Uint8Array;
  /** The map's `mask` names `incoming_socket`: keys include the listener (an entry without one means 0). */
  readonly listenerMasked: boolean;
}

export type JsonSet = JsonRuleSet | JsonMapSet;

export const START_SET = '_start';

export interface JsonConfig {
  readonly file: string;
  readonly incoming: readonly JsonListener[];
  readonly paths: readonly JsonApiSocket[];
  /** Index = slot number. */
  readonly outgoing: readonly JsonSlot[];
  readonly daemon: JsonDaemon;
  readonly finalNetns: string | null;
  /** In the order written; always holds START_SET. */
  readonly sets: ReadonlyMap<string, JsonSet>;
}

/** `r:web` / `o:2`, as written in a config. */
export function formatJsonAction(action: JsonAction): string {
  return action.kind === 'jump' ? `r:${action.set}` : `o:${action.slot}`;
}

/** A map entry's key: its pattern under the map's mask. */
export function jsonMapKey(entry: JsonEntry, set: JsonMapSet): Uint8Array {
  return entry.pattern.map((byte, i) => byte & set.mask[i]);
}

/** The listener a map entry's key holds when the map's mask includes it. */
export function jsonMapListener(entry: JsonEntry): number {
  return entry.listener ?? 0;
}

/**
 * Whether any decision depends on the listener index: a rule entry with
 * `incoming_socket`, or a map whose mask names it. Only then does the compiled
 * table need one copy of the sets per listener.
 */
export function dispatchesByListener(sets: Iterable<JsonSet>): boolean {
  for (const set of sets) {
    if (set.kind === 'map' ? set.listenerMasked : set.entries.some((entry) => entry.listener !== null)) return true;
  }
  return false;
}
