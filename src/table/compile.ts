/**
 * Compiles the checked config model into the flat binary rule table that the
 * native lookup reads. The layout is specified in docs/table-format.md; the
 * numbers below mirror native/server/table.h.
 */
import { Action, ClassicConfig, Entry, RuleSet, MapSet, mapEntryKey, mapMaskTuple, unixPathProblem } from '../config/model';

export const TABLE_MAGIC = 0x54424b53;
export const TABLE_VERSION = 1;
export const HEADER_SIZE = 64;
export const TUPLE_SIZE = 36;
export const SET_RECORD_SIZE = 52;
export const ENTRY_RECORD_SIZE = 76;
export const TARGET_RECORD_SIZE = 16;
export const NO_START_SET = 0xffffffff;

export const SET_KIND_RULE = 1;
export const SET_KIND_MAP = 2;

export const ACT_FAIL = 0;
export const ACT_JUMP = 1;
export const ACT_TARGET = 2;
export const ACT_NO_MATCH = 3;

export const TARGET_KIND_UNIX = 1;
export const TARGET_KIND_FD = 2;
/** A registration slot of the JSON config (docs/config-json.md). */
export const TARGET_KIND_SLOT = 3;
export const MAX_SLOTS = 65536;
export const TARGET_FLAG_TEMPLATE = 1;
export const TARGET_FLAG_EXIT_ON_PEER_GONE = 2;

export interface CompileOptions {
  /** `-U`: mark UNIX paths holding `#//0_`..`#//7_` / `#//P_` as templates. */
  readonly pathSubstitution: boolean;
}

export type SingleTarget =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'fd'; readonly fd: number; readonly exitOnPeerGone: boolean };

const TEMPLATE_MARKER = /#\/\/[0-7P]_/;

/** `kind << 24 | arg` as an unsigned 32-bit number. */
export function encodeAction(kind: number, arg: number): number {
  return ((kind << 24) | (arg & 0xffffff)) >>> 0;
}

export interface SetRecord {
  kind: number;
  firstEntry: number;
  nEntries: number;
  defaultAction: number;
  mask: Uint8Array;
}

export interface EntryRecord {
  pattern: Uint8Array;
  mask: Uint8Array;
  action: number;
}

/**
 * A compiled table and the names of its targets by index, as the config names them:
 * `unix:PATH` (a -U template as written), `fd:N` or (JSON slots) `o:N`. The names key the
 * per-target counters (src/server/target-slots.ts).
 */
export interface CompiledTable {
  readonly bytes: Buffer;
  readonly targetNames: readonly string[];
}

interface TargetRecord {
  kind: number;
  flags: number;
  a: number;
  b: number;
}

/** Collects records, deduplicating targets, then lays them out in one buffer. */
export class TableBuilder {
  readonly sets: SetRecord[] = [];
  readonly entries: EntryRecord[] = [];
  private readonly targets: TargetRecord[] = [];
  private readonly targetNames: string[] = [];
  private readonly targetIndex = new Map<string, number>();
  private readonly strings: Buffer[] = [];
  private stringsSize = 0;

  constructor(private readonly opts: CompileOptions) {}

  unixTarget(path: string): number {
    const problem = unixPathProblem(path);
    if (problem !== null) throw new RangeError(problem);
    return this.target(`unix:${path}`, `unix:${path}`, () => {
      const bytes = Buffer.from(path, 'utf8');
      const record: TargetRecord = {
        kind: TARGET_KIND_UNIX,
        flags: this.opts.pathSubstitution && TEMPLATE_MARKER.test(path) ? TARGET_FLAG_TEMPLATE : 0,
        a: this.stringsSize,
        b: bytes.length,
      };
      this.strings.push(bytes);
      this.stringsSize += bytes.length;
      return record;
    });
  }

  fdTarget(fd: number, exitOnPeerGone: boolean): number {
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new RangeError(`bad descriptor number ${fd}`);
    const flags = exitOnPeerGone ? TARGET_FLAG_EXIT_ON_PEER_GONE : 0;
    return this.target(`fd:${fd}:${flags}`, `fd:${fd}`, () => ({ kind: TARGET_KIND_FD, flags, a: fd, b: 0 }));
  }

  slotTarget(slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS) throw new RangeError(`bad slot number ${slot}`);
    return this.target(`slot:${slot}`, `o:${slot}`, () => ({ kind: TARGET_KIND_SLOT, flags: 0, a: slot, b: 0 }));
  }

  /** key tells targets apart (an fd with and without a flag are two); name is what its counters are called. */
  private target(key: string, name: string, make: () => TargetRecord): number {
    let index = this.targetIndex.get(key);
    if (index === undefined) {
      index = this.targets.length;
      this.targets.push(make());
      this.targetNames.push(name);
      this.targetIndex.set(key, index);
    }
    return index;
  }

  /**
   * listenerStarts: the start set per listener index (JSON configs using
   * incoming_socket); empty keeps the classic layout byte for byte.
   */
  build(startSet: number, listenerStarts: readonly number[] = []): CompiledTable {
    const setsOff = HEADER_SIZE;
    const entriesOff = setsOff + this.sets.length * SET_RECORD_SIZE;
    const targetsOff = entriesOff + this.entries.length * ENTRY_RECORD_SIZE;
    const stringsOff = targetsOff + this.targets.length * TARGET_RECORD_SIZE;
    // Pad the string area so the whole buffer stays a multiple of 4 bytes.
    const stringsSize = (this.stringsSize + 3) & ~3;
    const startsOff = stringsOff + stringsSize;
    const total = startsOff + 4 * listenerStarts.length;
    const buf = Buffer.alloc(total);

    buf.writeUInt32LE(TABLE_MAGIC, 0);
    buf.writeUInt32LE(TABLE_VERSION, 4);
    buf.writeUInt32LE(total, 8);
    buf.writeUInt32LE(0, 12);
    buf.writeUInt32LE(this.sets.length, 16);
    buf.writeUInt32LE(setsOff, 20);
    buf.writeUInt32LE(this.entries.length, 24);
    buf.writeUInt32LE(entriesOff, 28);
    buf.writeUInt32LE(this.targets.length, 32);
    buf.writeUInt32LE(targetsOff, 36);
    buf.writeUInt32LE(stringsOff, 40);
    buf.writeUInt32LE(stringsSize, 44);
    buf.writeUInt32LE(startSet >>> 0, 48);
    buf.writeUInt32LE(listenerStarts.length, 52);
    buf.writeUInt32LE(listenerStarts.length > 0 ? startsOff : 0, 56);
    listenerStarts.forEach((set, i) => buf.writeUInt32LE(set >>> 0, startsOff + 4 * i));

    this.sets.forEach((set, i) => {
      const at = setsOff + i * SET_RECORD_SIZE;
      buf.writeUInt32LE(set.kind, at);
      buf.writeUInt32LE(set.firstEntry, at + 4);
      buf.writeUInt32LE(set.nEntries, at + 8);
      buf.writeUInt32LE(set.defaultAction, at + 12);
      buf.set(set.mask, at + 16);
    });
    this.entries.forEach((entry, i) => {
      const at = entriesOff + i * ENTRY_RECORD_SIZE;
      buf.set(entry.pattern, at);
      buf.set(entry.mask, at + TUPLE_SIZE);
      buf.writeUInt32LE(entry.action, at + 2 * TUPLE_SIZE);
    });
    this.targets.forEach((target, i) => {
      const at = targetsOff + i * TARGET_RECORD_SIZE;
      buf.writeUInt32LE(target.kind, at);
      buf.writeUInt32LE(target.flags, at + 4);
      buf.writeUInt32LE(target.a, at + 8);
      buf.writeUInt32LE(target.b, at + 12);
    });
    let at = stringsOff;
    for (const bytes of this.strings) {
      buf.set(bytes, at);
      at += bytes.length;
    }
    return { bytes: buf, targetNames: [...this.targetNames] };
  }
}

/** A rule entry's pattern (already masked) and mask. */
function ruleEntryRecord(entry: Entry, action: number): EntryRecord {
  const pattern = new Uint8Array(TUPLE_SIZE);
  const mask = new Uint8Array(TUPLE_SIZE);
  const address = (match: Entry['local'], offset: number) => {
    if (!match) return;
    for (let i = 0; i < 16; i++) {
      mask[offset + i] = match.mask[i];
      pattern[offset + i] = match.address[i] & match.mask[i];
    }
  };
  const port = (value: number | null, offset: number) => {
    if (value === null) return;
    pattern[offset] = value >> 8;
    pattern[offset + 1] = value & 0xff;
    mask[offset] = 0xff;
    mask[offset + 1] = 0xff;
  };
  address(entry.local, 0);
  address(entry.remote, 16);
  port(entry.localPort, 32);
  port(entry.remotePort, 34);
  return { pattern, mask, action };
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** Compiles a parsed classic config into the binary table. */
export function compileTable(config: ClassicConfig, opts: CompileOptions): CompiledTable {
  const builder = new TableBuilder(opts);
  const ruleCount = config.ruleSets.length;
  const encode = (action: Action | null): number => {
    if (action === null) return encodeAction(ACT_NO_MATCH, 0);
    switch (action.kind) {
      case 'fail':
        return encodeAction(ACT_FAIL, 0);
      case 'jump-rule':
        return encodeAction(ACT_JUMP, action.id);
      case 'jump-map':
        return encodeAction(ACT_JUMP, ruleCount + action.id);
      case 'unix':
        return encodeAction(ACT_TARGET, builder.unixTarget(action.path));
      case 'fd':
        return encodeAction(ACT_TARGET, builder.fdTarget(action.fd, false));
    }
  };

  const addRuleSet = (set: RuleSet) => {
    const firstEntry = builder.entries.length;
    for (const entry of set.entries) builder.entries.push(ruleEntryRecord(entry, encode(entry.action)));
    builder.sets.push({
      kind: SET_KIND_RULE,
      firstEntry,
      nEntries: set.entries.length,
      defaultAction: encode(set.defaultAction),
      mask: new Uint8Array(TUPLE_SIZE),
    });
  };

  const addMapSet = (set: MapSet) => {
    const mask = mapMaskTuple(set.match);
    const records = set.entries
      .map((entry) => ({ pattern: mapEntryKey(entry, mask), mask: new Uint8Array(TUPLE_SIZE), action: encode(entry.action) }))
      .sort((a, b) => compareBytes(a.pattern, b.pattern));
    for (let i = 1; i < records.length; i++) {
      // The parser rejects duplicate keys; a model built elsewhere must too.
      if (compareBytes(records[i - 1].pattern, records[i].pattern) === 0) {
        throw new Error(`duplicate key in map ${set.id}`);
      }
    }
    const firstEntry = builder.entries.length;
    builder.entries.push(...records);
    builder.sets.push({ kind: SET_KIND_MAP, firstEntry, nEntries: records.length, defaultAction: encode(set.defaultAction), mask });
  };

  config.ruleSets.forEach(addRuleSet);
  config.mapSets.forEach(addMapSet);
  return builder.build(ruleCount > 0 ? 0 : NO_START_SET);
}

/** The table for `-S PATH` / `-i FD`: one empty rule set whose default is the target. */
export function compileSingleTarget(target: SingleTarget, opts: CompileOptions): CompiledTable {
  const builder = new TableBuilder(opts);
  const index = target.kind === 'unix' ? builder.unixTarget(target.path) : builder.fdTarget(target.fd, target.exitOnPeerGone);
  builder.sets.push({
    kind: SET_KIND_RULE,
    firstEntry: 0,
    nEntries: 0,
    defaultAction: encodeAction(ACT_TARGET, index),
    mask: new Uint8Array(TUPLE_SIZE),
  });
  return builder.build(0);
}
