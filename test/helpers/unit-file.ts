import * as fs from 'node:fs';

/** key -> values (in order, repeats kept) of one section of a systemd unit or drop-in file. */
export function unitSection(file: string, name: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let inside = false;
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) inside = line === `[${name}]`;
    else if (inside && line && !line.startsWith('#')) {
      const eq = line.indexOf('=');
      keys.set(line.slice(0, eq), [...(keys.get(line.slice(0, eq)) ?? []), line.slice(eq + 1)]);
    }
  }
  return keys;
}

/**
 * An Exec*= command line as systemd runs it, for commands without quoting: its
 * words, and whether a failure is ignored (the '-' prefix).
 */
export function execCommand(line: string): { argv: string[]; ignoreFailure: boolean } {
  const ignoreFailure = line.startsWith('-');
  return { argv: line.replace(/^[-@:+!]+/, '').trim().split(/\s+/), ignoreFailure };
}

/** `define NAME = VALUE` lines of an nftables file. */
export function nftDefines(file: string): Map<string, string> {
  const defines = new Map<string, string>();
  for (const m of fs.readFileSync(file, 'utf8').matchAll(/^define\s+(\w+)\s*=\s*(\S+)\s*$/gm)) defines.set(m[1], m[2]);
  return defines;
}
