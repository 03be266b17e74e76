/**
 * The one error type the config parsers throw.
 *
 * Position convention (used consistently by every check):
 * - `line` is 1-based; `column` is 1-based and counts characters (code points)
 *   from the start of the line.
 * - `column` is always the first character of the offending TOKEN, never of a
 *   value inside it: for `port:99999` it points at the `p`. Problems that
 *   concern a whole entry (set full, entry before `size:`, duplicate map key,
 *   no current set) point at the entry's first entry token.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}:${column}: ${reason}`);
  }
}
