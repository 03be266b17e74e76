/**
 * Compiles a checked JSON config (docs/config-json.md) into the binary rule table
 * (docs/table-format.md). The table's tuple has no listener field, so
 * `incoming_socket` is compiled by specialization: when any decision depends
 * on the listener, every set is emitted once per listener with the listener
 * conditions already decided, and each listener starts in its own copy.
 */
import { JsonAction, JsonConfig, JsonEntry, JsonMapSet, JsonSet, START_SET, TUPLE_SIZE, dispatchesByListener, jsonMapKey, jsonMapListener } from '../config/json-model';
import {
  ACT_JUMP,
  ACT_NO_MATCH,
  ACT_TARGET,
  CompiledTable,
  EntryRecord,
  SET_KIND_MAP,
  SET_KIND_RULE,
  TableBuilder,
  compareBytes,
  encodeAction,
} from './compile';

/** The entries of `set` that can decide a connection arriving on `listener` (null: any listener). */
function entriesFor(set: JsonSet, listener: number | null): readonly JsonEntry[] {
  if (listener === null) return set.entries;
  if (set.kind === 'map') return set.listenerMasked ? set.entries.filter((entry) => jsonMapListener(entry) === listener) : set.entries;
  return set.entries.filter((entry) => entry.listener === null || entry.listener === listener);
}

function mapRecords(set: JsonMapSet, entries: readonly JsonEntry[], encode: (action: JsonAction) => number): EntryRecord[] {
  const records = entries
    .map((entry) => ({ pattern: jsonMapKey(entry, set), mask: new Uint8Array(TUPLE_SIZE), action: encode(entry.action) }))
    .sort((a, b) => compareBytes(a.pattern, b.pattern));
  for (let i = 1; i < records.length; i++) {
    // The parser rejects duplicate keys; a model built elsewhere must too.
    if (compareBytes(records[i - 1].pattern, records[i].pattern) === 0) throw new Error(`duplicate key in map '${set.name}'`);
  }
  return records;
}

/** Compiles a parsed JSON config into the binary table. */
export function compileJsonTable(config: JsonConfig): CompiledTable {
  const builder = new TableBuilder({ pathSubstitution: false });
  const sets = [...config.sets.values()];
  const position = new Map(sets.map((set, i) => [set.name, i]));
  const setIndex = (copy: number, name: string) => copy * sets.length + position.get(name)!;
  // One copy of the sets for every listener, or a single one that serves them all.
  const copies: Array<number | null> = dispatchesByListener(sets) ? config.incoming.map((listener) => listener.index) : [null];

  copies.forEach((listener, copy) => {
    const encode = (action: JsonAction) =>
      action.kind === 'jump' ? encodeAction(ACT_JUMP, setIndex(copy, action.set)) : encodeAction(ACT_TARGET, builder.slotTarget(action.slot));
    for (const set of sets) {
      const entries = entriesFor(set, listener);
      const firstEntry = builder.entries.length;
      const records =
        set.kind === 'map'
          ? mapRecords(set, entries, encode)
          : entries.map((entry) => ({ pattern: entry.pattern, mask: entry.mask, action: encode(entry.action) }));
      // A loop, not push(...records): a spread of a huge array overflows the stack.
      for (const record of records) builder.entries.push(record);
      builder.sets.push({
        kind: set.kind === 'map' ? SET_KIND_MAP : SET_KIND_RULE,
        firstEntry,
        nEntries: builder.entries.length - firstEntry,
        // A set without a matching entry means "no match": JSON sets have no default.
        defaultAction: encodeAction(ACT_NO_MATCH, 0),
        mask: set.kind === 'map' ? set.mask : new Uint8Array(TUPLE_SIZE),
      });
    }
  });

  const starts = copies[0] === null ? [] : copies.map((_, copy) => setIndex(copy, START_SET));
  return builder.build(setIndex(0, START_SET), starts);
}
