// The readable form of a record file: one `SLOT PATH` per line, `#` comments, blank lines.
//   0 /run/socketbox/web-_@SB_.sock
//   1 @abstract-name
import { MAX_PATH_BYTES, MAX_SLOT, PORT_MARKER } from './record-file';

export interface ListProblem {
  line: number;
  message: string;
}

export interface ParsedList {
  records: Map<number, string>;
  problems: ListProblem[];
}

const SLOT_PATTERN = /^[0-9]+$/;

/** Why PATH cannot be a record, or null when it can. */
export function pathProblem(path: string): string | null {
  const bytes = Buffer.byteLength(path, 'utf8');
  if (path.includes('\0')) return 'path contains a NUL byte';
  // The library refuses such records as junk (a text file, binary data); never write one.
  if ([...path].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f')) return 'path contains a control character';
  if (bytes > MAX_PATH_BYTES)
    return `path is ${bytes} bytes; a UNIX socket path holds at most ${MAX_PATH_BYTES} (sun_path is 108 bytes with its NUL)`;
  if (path === '@') return 'abstract socket name after @ is empty';
  if (!path.startsWith('/') && !path.startsWith('@'))
    return "path must be absolute (or '@name' for an abstract socket): a relative path would depend on the daemon's working directory";
  const marker = path.indexOf(PORT_MARKER);
  if (marker >= 0 && path.indexOf(PORT_MARKER, marker + 1) >= 0)
    return `only the first ${PORT_MARKER} is replaced by the port; write it once`;
  return null;
}

/** Parses the whole list, collecting every problem (the caller writes nothing if any). */
export function parseRecordList(text: string): ParsedList {
  const records = new Map<number, string>();
  const firstLine = new Map<number, number>();
  const problems: ListProblem[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/\r$/, '');
    const trimmed = content.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = /^\s*(\S+)(?:\s+(.*?))?\s*$/.exec(content);
    const slotText = match?.[1] ?? '';
    const path = match?.[2] ?? '';
    if (!SLOT_PATTERN.test(slotText) || Number(slotText) > MAX_SLOT) {
      problems.push({ line, message: `slot '${slotText}' is not a number from 0 to ${MAX_SLOT}` });
      return;
    }
    const slot = Number(slotText);
    if (path === '') {
      problems.push({ line, message: `slot ${slot} has no path` });
      return;
    }
    const problem = pathProblem(path);
    if (problem) {
      problems.push({ line, message: problem });
      return;
    }
    const earlier = firstLine.get(slot);
    if (earlier !== undefined) {
      problems.push({ line, message: `slot ${slot} was already given on line ${earlier}` });
      return;
    }
    firstLine.set(slot, line);
    records.set(slot, path);
  });
  return { records, problems };
}
