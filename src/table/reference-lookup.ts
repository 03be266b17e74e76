/**
 * The reference lookup: decides a connection straight from the config model,
 * independently of the compiled table, so `--explain` can show its path and
 * tests can cross-check the native lookup against it. Also `-U` path
 * substitution (docs/path-substitution.md).
 */
import { Action, AddressMatch, ClassicConfig, ConfigSet, Entry, formatAction, mapEntryKey, mapMaskTuple, setName } from '../config/model';

/** SKBOX_MAX_LOOKUP_STEPS: the 101st set visited gives up. */
export const MAX_LOOKUP_STEPS = 100;

export type LookupResult =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'fd'; readonly fd: number }
  | { readonly kind: 'fail' }
  | { readonly kind: 'no_match' }
  | { readonly kind: 'loop' };

/** One set visited; the JSON reference lookup records its steps the same way. */
export interface LookupStep {
  /** `rule-set:0`, `map-set:2`; a JSON set's name, e.g. `_start`. */
  readonly set: string;
  /** The matching entry's line; null when the set's default applied (JSON: no entry matched). */
  readonly line: number | null;
  /** The action taken, as config text (`jump-map:1`, `fail`, `o:2`, `r:web`, `no match`). */
  readonly action: string;
}

export interface ReferenceLookup {
  readonly result: LookupResult;
  readonly steps: LookupStep[];
}

function addressMatches(match: AddressMatch | null, tuple: Uint8Array, offset: number): boolean {
  if (match === null) return true;
  for (let i = 0; i < 16; i++) {
    if ((tuple[offset + i] & match.mask[i]) !== (match.address[i] & match.mask[i])) return false;
  }
  return true;
}

/** Big-endian 16-bit value: ports, and address groups for substitution. */
const u16At = (tuple: Uint8Array, offset: number) => (tuple[offset] << 8) | tuple[offset + 1];

function ruleEntryMatches(entry: Entry, tuple: Uint8Array): boolean {
  return (
    addressMatches(entry.local, tuple, 0) &&
    addressMatches(entry.remote, tuple, 16) &&
    (entry.localPort === null || entry.localPort === u16At(tuple, 32)) &&
    (entry.remotePort === null || entry.remotePort === u16At(tuple, 34))
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** The entry that decides `tuple` in `set`, or null for the set's default. */
function matchingEntry(set: ConfigSet, tuple: Uint8Array): Entry | null {
  if (set.kind === 'rule') return set.entries.find((entry) => ruleEntryMatches(entry, tuple)) ?? null;
  const mask = mapMaskTuple(set.match);
  const key = tuple.map((byte, i) => byte & mask[i]);
  return set.entries.find((entry) => sameBytes(mapEntryKey(entry, mask), key)) ?? null;
}

/** Runs the lookup of `tuple` (36 bytes) through `config`, recording each set visited. */
export function referenceLookup(config: ClassicConfig, tuple: Uint8Array): ReferenceLookup {
  if (tuple.length !== 36) throw new RangeError(`a tuple has 36 bytes, not ${tuple.length}`);
  const steps: LookupStep[] = [];
  let set: ConfigSet | undefined = config.ruleSets[0];
  if (set === undefined) return { result: { kind: 'no_match' }, steps };
  for (;;) {
    if (steps.length >= MAX_LOOKUP_STEPS) return { result: { kind: 'loop' }, steps };
    const entry = matchingEntry(set, tuple);
    const action: Action | null = entry ? entry.action : set.defaultAction;
    steps.push({ set: setName(set), line: entry ? entry.at.line : null, action: formatAction(action) });
    if (action === null) return { result: { kind: 'no_match' }, steps };
    switch (action.kind) {
      case 'unix':
        return { result: { kind: 'unix', path: action.path }, steps };
      case 'fd':
        return { result: { kind: 'fd', fd: action.fd }, steps };
      case 'fail':
        return { result: { kind: 'fail' }, steps };
      case 'jump-rule':
      case 'jump-map': {
        const next: ConfigSet | undefined =
          action.kind === 'jump-rule' ? config.ruleSets[action.id] : config.mapSets[action.id];
        // The parser guarantees the target exists; a missing set closes the connection.
        if (next === undefined) return { result: { kind: 'fail' }, steps };
        set = next;
      }
    }
  }
}

/**
 * docs/path-substitution.md: the first `#//0_`..`#//7_` becomes the local address's 16-bit group
 * 0..7, and the first `#//P_` the local port, each as 5 zero-padded decimal
 * digits. Marker and replacement have the same length, so positions never shift.
 */
export function substitutePath(template: string, tuple: Uint8Array): string {
  if (tuple.length !== 36) throw new RangeError(`a tuple has 36 bytes, not ${tuple.length}`);
  let path = template;
  const replaceFirst = (marker: string, value: number) => {
    const at = path.indexOf(marker);
    if (at >= 0) path = path.slice(0, at) + String(value).padStart(5, '0') + path.slice(at + marker.length);
  };
  for (let group = 0; group < 8; group++) replaceFirst(`#//${group}_`, u16At(tuple, 2 * group));
  replaceFirst('#//P_', u16At(tuple, 32));
  return path;
}
