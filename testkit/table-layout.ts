// The compiled table's layout (docs/table-format.md), written down here once for the tests and
// read independently of src/table/: they check the compiler and the native loader against it.

export const TABLE_MAGIC = 0x54424b53;
export const HEADER_SIZE = 64;
export const SET_SIZE = 52;
export const ENTRY_SIZE = 76;
export const TARGET_SIZE = 16;
/** A start set (or listener start) meaning "no set": every lookup is no_match. */
export const NO_SET = 0xffffffff;

/** Byte offsets of the header's u32 fields. */
export const HEADER = {
  magic: 0,
  version: 4,
  totalSize: 8,
  flags: 12,
  nSets: 16,
  setsOff: 20,
  nEntries: 24,
  entriesOff: 28,
  nTargets: 32,
  targetsOff: 36,
  stringsOff: 40,
  stringsSize: 44,
  startSet: 48,
  nListenerStarts: 52,
  listenerStartsOff: 56,
} as const;

export const headerField = (table: Buffer, field: keyof typeof HEADER): number => table.readUInt32LE(HEADER[field]);

/** Target record kinds. */
export const TARGET_UNIX = 1;
export const TARGET_FD = 2;
export const TARGET_SLOT = 3;

export interface TargetRecord {
  kind: number;
  flags: number;
  a: number;
  b: number;
}

/** Where target record index starts (the index is not checked). */
export const targetOffset = (table: Buffer, index: number): number => headerField(table, 'targetsOff') + TARGET_SIZE * index;

export function targetRecord(table: Buffer, index: number): TargetRecord {
  const at = targetOffset(table, index);
  return { kind: table.readUInt32LE(at), flags: table.readUInt32LE(at + 4), a: table.readUInt32LE(at + 8), b: table.readUInt32LE(at + 12) };
}

/** The path a UNIX target record points at in the string area. */
export function targetPath(table: Buffer, target: TargetRecord): string {
  const start = headerField(table, 'stringsOff') + target.a;
  return table.toString('utf8', start, start + target.b);
}

/** The target record a native lookup decided on (by its index), or why there is none. */
export function decidedTarget(table: Buffer, index: unknown): TargetRecord | string {
  const count = headerField(table, 'nTargets');
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) return `target index ${String(index)} outside 0..${count - 1}`;
  return targetRecord(table, index);
}
