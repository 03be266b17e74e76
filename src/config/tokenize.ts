/**
 * Splits classic config text into lines of tokens, keeping each token's
 * position for error messages. Comments (a `#` as the very first character of
 * the line, as in the original) and blank lines produce nothing.
 */

export interface Token {
  /** The token exactly as written. */
  readonly text: string;
  /** `text` before the first colon, or all of it for a bare key. */
  readonly key: string;
  /** Text after the first colon (may contain more colons); null for a bare key. */
  readonly value: string | null;
  /** 1-based line number. */
  readonly line: number;
  /** 1-based column (in code points) of the token's first character. */
  readonly column: number;
}

export interface TokenLine {
  readonly line: number;
  readonly tokens: readonly Token[];
}

function isSeparator(code: number): boolean {
  return code === 0x20 /* space */ || code === 0x09 /* tab */;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

function makeToken(text: string, line: number, column: number): Token {
  const colon = text.indexOf(':');
  return colon < 0
    ? { text, key: text, value: null, line, column }
    : { text, key: text.slice(0, colon), value: text.slice(colon + 1), line, column };
}

function tokenizeLine(raw: string, line: number): Token[] {
  const tokens: Token[] = [];
  let column = 0;
  let start = -1;
  let startColumn = 0;
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    // A surrogate pair is one character for the column count.
    if (!(isLowSurrogate(code) && i > 0 && raw.charCodeAt(i - 1) >= 0xd800 && raw.charCodeAt(i - 1) <= 0xdbff)) {
      column++;
    }
    if (isSeparator(code)) {
      if (start >= 0) tokens.push(makeToken(raw.slice(start, i), line, startColumn));
      start = -1;
    } else if (start < 0) {
      start = i;
      startColumn = column;
    }
  }
  if (start >= 0) tokens.push(makeToken(raw.slice(start), line, startColumn));
  return tokens;
}

export function tokenizeConfig(text: string): TokenLine[] {
  const lines: TokenLine[] = [];
  // An editor's byte-order mark is not part of the first token.
  const rawLines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n');
  for (let index = 0; index < rawLines.length; index++) {
    let raw = rawLines[index];
    // Tolerate CRLF files: the CR is line ending, not part of the last token.
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw.startsWith('#')) continue;
    const tokens = tokenizeLine(raw, index + 1);
    if (tokens.length > 0) lines.push({ line: index + 1, tokens });
  }
  return lines;
}
