/**
 * The reference lookup for JSON configs: decides a connection straight from
 * the JsonConfig model, independently of the compiled table (which specializes
 * sets per listener), so tests can cross-check the native lookup against it
 * and `--explain` can show the path taken.
 */
import { JsonConfig, JsonEntry, JsonSet, START_SET, formatJsonAction, jsonMapKey, jsonMapListener } from '../config/json-model';
import { LookupStep, MAX_LOOKUP_STEPS } from './reference-lookup';

export type JsonLookupResult =
  | { readonly kind: 'slot'; readonly slot: number }
  | { readonly kind: 'fail' }
  | { readonly kind: 'no_match' }
  | { readonly kind: 'loop' };

export interface JsonReferenceLookup {
  readonly result: JsonLookupResult;
  readonly steps: LookupStep[];
}

function ruleEntryMatches(entry: JsonEntry, tuple: Uint8Array, listener: number): boolean {
  if (entry.listener !== null && entry.listener !== listener) return false;
  for (let i = 0; i < entry.mask.length; i++) if ((tuple[i] & entry.mask[i]) !== entry.pattern[i]) return false;
  return true;
}

function matchingEntry(set: JsonSet, tuple: Uint8Array, listener: number): JsonEntry | null {
  if (set.kind === 'rule') return set.entries.find((entry) => ruleEntryMatches(entry, tuple, listener)) ?? null;
  const key = tuple.map((byte, i) => byte & set.mask[i]);
  const found = set.entries.find(
    (entry) => jsonMapKey(entry, set).every((byte, i) => byte === key[i]) && (!set.listenerMasked || jsonMapListener(entry) === listener),
  );
  return found ?? null;
}

/**
 * Runs the lookup of `tuple` (36 bytes) for a connection that arrived on
 * listener `listener` (its index in `incoming`), recording each set visited.
 */
export function jsonReferenceLookup(config: JsonConfig, tuple: Uint8Array, listener: number): JsonReferenceLookup {
  if (tuple.length !== 36) throw new RangeError(`a tuple has 36 bytes, not ${tuple.length}`);
  // The compiled table only knows the configured listeners; others cannot carry connections.
  if (!Number.isInteger(listener) || listener < 0 || listener >= config.incoming.length) {
    throw new RangeError(`listener index must be 0..${config.incoming.length - 1}, not ${listener}`);
  }
  const steps: LookupStep[] = [];
  let set = config.sets.get(START_SET);
  // The parser guarantees `_start`; a model without it matches nothing, like a table without a start set.
  if (set === undefined) return { result: { kind: 'no_match' }, steps };
  for (;;) {
    if (steps.length >= MAX_LOOKUP_STEPS) return { result: { kind: 'loop' }, steps };
    const entry = matchingEntry(set, tuple, listener);
    if (entry === null) {
      steps.push({ set: set.name, line: null, action: 'no match' });
      return { result: { kind: 'no_match' }, steps };
    }
    steps.push({ set: set.name, line: entry.at.line, action: formatJsonAction(entry.action) });
    if (entry.action.kind === 'slot') return { result: { kind: 'slot', slot: entry.action.slot }, steps };
    const next = config.sets.get(entry.action.set);
    // The parser guarantees the set exists; a missing one closes the connection.
    if (next === undefined) return { result: { kind: 'fail' }, steps };
    set = next;
  }
}
