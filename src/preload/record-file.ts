// The record files of libsocketbox-preload: `skbox_dir_AAAAA` holds 128-byte
// records; record B names the UNIX socket that a bind to [fe8f::A:B]:P gets. The library
// uses the first 108 bytes of a record (sizeof sun_path) up to the first NUL; `_@SB_` in it
// becomes the port as five digits; a leading `@` names an abstract socket. A record without a
// NUL in those bytes or with a control character is refused as junk.

export const RECORD_SIZE = 128;
/** sizeof(struct sockaddr_un.sun_path) on Linux. */
export const SUN_PATH_SIZE = 108;
/** Longest path a record may hold: it must fit sun_path with its terminating NUL. */
export const MAX_PATH_BYTES = SUN_PATH_SIZE - 1;
export const PORT_MARKER = '_@SB_';
export const MAX_SLOT = 0xffff;

/** `skbox_dir_00042` for group 42. */
export function recordFileName(group: number): string {
  return `skbox_dir_${String(group).padStart(5, '0')}`;
}

/** The magic bind address for mode M (0..3), record file A and record B: `fe8f::M:A:B`. */
export function magicAddress(mode: number, group: number, slot: number): string {
  return `fe8f::${mode.toString(16)}:${group.toString(16)}:${slot.toString(16)}`;
}

/** One file's records, slot number to path; missing slots are written as empty records. */
export type RecordMap = ReadonlyMap<number, string>;

export function encodeRecords(records: RecordMap): Buffer {
  let highest = -1;
  for (const slot of records.keys()) highest = Math.max(highest, slot);
  const file = Buffer.alloc((highest + 1) * RECORD_SIZE);
  for (const [slot, path] of records) {
    const bytes = Buffer.from(path, 'utf8');
    if (bytes.length > MAX_PATH_BYTES) throw new RangeError(`slot ${slot}: path longer than ${MAX_PATH_BYTES} bytes`);
    bytes.copy(file, slot * RECORD_SIZE);
  }
  return file;
}

export interface DecodedFile {
  records: Map<number, string>;
  /** Bytes after the last whole record (a damaged or hand-made file). */
  trailingBytes: number;
}

/** The path of each record: up to the first NUL within sun_path. (The library also refuses
 *  records `write` never produces: no NUL within sun_path, or a control character.) */
export function decodeRecords(file: Buffer): DecodedFile {
  const records = new Map<number, string>();
  const whole = Math.floor(file.length / RECORD_SIZE);
  for (let slot = 0; slot < whole; slot++) {
    const raw = file.subarray(slot * RECORD_SIZE, slot * RECORD_SIZE + SUN_PATH_SIZE);
    const end = raw.indexOf(0);
    const path = raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
    if (path !== '') records.set(slot, path);
  }
  return { records, trailingBytes: file.length - whole * RECORD_SIZE };
}
