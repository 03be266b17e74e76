import { prefixMask } from '../net/address';

/**
 * The checked model of a classic config: what the parser produces and what
 * the table compiler, the reference lookup and the `--check` summary consume.
 * Everything in it has already been validated (ranges, set ids, path lengths).
 */

export interface SourcePos {
  readonly line: number;
  readonly column: number;
}

/** Where a connection can be delivered. */
export type Target = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'fd'; readonly fd: number };

/**
 * What an entry or a default does. `at` is the action token's position, or
 * null for the `fail` an entry gets when it names no action.
 */
export type Action =
  | { readonly kind: 'unix'; readonly path: string; readonly at: SourcePos }
  | { readonly kind: 'fd'; readonly fd: number; readonly at: SourcePos }
  | { readonly kind: 'jump-rule'; readonly id: number; readonly at: SourcePos }
  | { readonly kind: 'jump-map'; readonly id: number; readonly at: SourcePos }
  | { readonly kind: 'fail'; readonly at: SourcePos | null };

/** An address condition: matches when `(addr & mask) == (address & mask)`. */
export interface AddressMatch {
  readonly address: Uint8Array;
  readonly mask: Uint8Array;
}

export interface Entry {
  /** Position of the entry's first entry token. */
  readonly at: SourcePos;
  /** `ip:` (local address). In maps the mask is all ones; the map's mask applies. */
  readonly local: AddressMatch | null;
  /** `rip:` (remote address). */
  readonly remote: AddressMatch | null;
  /** `port:` (local port). */
  readonly localPort: number | null;
  /** `rport:` (remote port). */
  readonly remotePort: number | null;
  readonly action: Action;
}

/** A map's set-wide mask, from its `match-*` header tokens. */
export interface MapMatch {
  readonly localPrefix: number | null;
  readonly remotePrefix: number | null;
  readonly localPort: boolean;
  readonly remotePort: boolean;
}

interface SetCommon {
  readonly id: number;
  /** Where `rule-set:ID` / `map-set:ID` was written; null if never declared (empty set). */
  readonly declaredAt: SourcePos | null;
  readonly size: number | null;
  readonly entries: readonly Entry[];
  /** The `default` action; null = the implicit default, "no match". */
  readonly defaultAction: Action | null;
}

export interface RuleSet extends SetCommon {
  readonly kind: 'rule';
}

export interface MapSet extends SetCommon {
  readonly kind: 'map';
  readonly match: MapMatch;
}

export type ConfigSet = RuleSet | MapSet;

export interface ClassicConfig {
  readonly file: string;
  /** null when `max-rules:` is absent: there is no rule set 0 and nothing matches. */
  readonly maxRules: number | null;
  readonly maxMaps: number | null;
  /** Exactly `maxRules ?? 0` sets, index = id. */
  readonly ruleSets: readonly RuleSet[];
  /** Exactly `maxMaps ?? 0` sets, index = id. */
  readonly mapSets: readonly MapSet[];
}

/** sun_path holds 108 bytes; the original needs room for the terminating NUL. */
export const UNIX_PATH_MAX = 107;

/** Why `path` cannot be a UNIX socket target, or null if it can. */
export function unixPathProblem(path: string): string | null {
  if (path.length === 0) return 'the UNIX socket path is empty';
  if (path.includes('\0')) return 'the UNIX socket path contains a NUL byte';
  // Natively '@' names an abstract socket by what follows it: '@' alone names nothing.
  if (path === '@') return "the abstract socket name after '@' is empty";
  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > UNIX_PATH_MAX) return `UNIX socket path is ${bytes} bytes; the limit is ${UNIX_PATH_MAX}`;
  return null;
}

/** `rule-set:3` / `map-set:1`, as written in a config. */
export function setName(set: { kind: 'rule' | 'map'; id: number }): string {
  return `${set.kind === 'rule' ? 'rule-set' : 'map-set'}:${set.id}`;
}

/** The action as config text, e.g. `jump-unix:/run/a.sock`, `fail`. */
export function formatAction(action: Action | null): string {
  if (action === null) return 'no match';
  switch (action.kind) {
    case 'unix':
      return `jump-unix:${action.path}`;
    case 'fd':
      return `jump-fd:${action.fd}`;
    case 'jump-rule':
      return `jump-rule:${action.id}`;
    case 'jump-map':
      return `jump-map:${action.id}`;
    case 'fail':
      return 'fail';
  }
}

/** `unix:/path` or `fd:3`: how targets are named in summaries. */
export function formatTarget(target: Target): string {
  return target.kind === 'unix' ? `unix:${target.path}` : `fd:${target.fd}`;
}

/** The 36-byte tuple mask a map applies before its exact match. */
export function mapMaskTuple(match: MapMatch): Uint8Array {
  const mask = new Uint8Array(36);
  if (match.localPrefix !== null) mask.set(prefixMask(match.localPrefix), 0);
  if (match.remotePrefix !== null) mask.set(prefixMask(match.remotePrefix), 16);
  if (match.localPort) mask.fill(0xff, 32, 34);
  if (match.remotePort) mask.fill(0xff, 34, 36);
  return mask;
}

/** A map entry's key: its fields as a tuple (absent = zero), masked with the map's mask. */
export function mapEntryKey(entry: Entry, mapMask: Uint8Array): Uint8Array {
  const key = new Uint8Array(36);
  if (entry.local) key.set(entry.local.address, 0);
  if (entry.remote) key.set(entry.remote.address, 16);
  if (entry.localPort !== null) {
    key[32] = entry.localPort >> 8;
    key[33] = entry.localPort & 0xff;
  }
  if (entry.remotePort !== null) {
    key[34] = entry.remotePort >> 8;
    key[35] = entry.remotePort & 0xff;
  }
  for (let i = 0; i < 36; i++) key[i] &= mapMask[i];
  return key;
}
