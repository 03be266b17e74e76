/**
 * A small strict JSON parser (RFC 8259) that remembers where every value and
 * key was written, so the JSON config checker can report `line:column` like
 * the classic parser does (ConfigError convention: 1-based, columns count code
 * points). Beyond RFC 8259 it rejects duplicate keys and lone surrogates:
 * in a config either one is a mistake, and `JSON.parse` would silently keep
 * the last duplicate.
 */
import { ConfigError } from './config-error';
import { SourcePos } from './model';

export interface JsonMember {
  readonly key: string;
  readonly keyAt: SourcePos;
  readonly value: JsonNode;
}

export interface JsonObjectNode extends SourcePos {
  readonly kind: 'object';
  /** In the order written. */
  readonly members: readonly JsonMember[];
}

export interface JsonArrayNode extends SourcePos {
  readonly kind: 'array';
  readonly items: readonly JsonNode[];
}

export interface JsonStringNode extends SourcePos {
  readonly kind: 'string';
  readonly value: string;
}

export interface JsonNumberNode extends SourcePos {
  readonly kind: 'number';
  /** As written, so integers can be told from `1.0` / `1e2`. */
  readonly text: string;
  readonly value: number;
}

export interface JsonBooleanNode extends SourcePos {
  readonly kind: 'boolean';
  readonly value: boolean;
}

export interface JsonNullNode extends SourcePos {
  readonly kind: 'null';
}

export type JsonNode = JsonObjectNode | JsonArrayNode | JsonStringNode | JsonNumberNode | JsonBooleanNode | JsonNullNode;

/** Configs nest about five levels; the limit keeps deep junk from exhausting the stack. */
export const MAX_JSON_DEPTH = 64;

const STRICT_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
const isWhitespace = (code: number) => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;

/** A character for a message: printable ones quoted, others as U+XXXX. */
function describeChar(char: string): string {
  const code = char.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || isHighSurrogate(code) || isLowSurrogate(code)) {
    return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return `'${char}'`;
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

class JsonTextParser {
  private pos = 0;
  private line = 1;
  private column = 1;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {
    // A byte order mark is not part of the first line (as in the classic tokenizer).
    if (text.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  parseDocument(): JsonNode {
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail(this.here(), 'unexpected text after the JSON value');
    return value;
  }

  private fail(at: SourcePos, reason: string): never {
    throw new ConfigError(this.file, at.line, at.column, reason);
  }

  private here(): SourcePos {
    return { line: this.line, column: this.column };
  }

  /** The code point at the cursor as a string ('' at the end). */
  private peekChar(): string {
    const code = this.text.charCodeAt(this.pos);
    if (isHighSurrogate(code) && isLowSurrogate(this.text.charCodeAt(this.pos + 1))) return this.text.slice(this.pos, this.pos + 2);
    return this.text.charAt(this.pos);
  }

  /** Moves past one code point, keeping line and column. */
  private advance(): void {
    const code = this.text.charCodeAt(this.pos);
    if (code === 0x0a) {
      this.line++;
      this.column = 1;
      this.pos++;
      return;
    }
    this.pos += isHighSurrogate(code) && isLowSurrogate(this.text.charCodeAt(this.pos + 1)) ? 2 : 1;
    this.column++;
  }

  private skipWhitespace(): void {
    while (this.pos < this.text.length && isWhitespace(this.text.charCodeAt(this.pos))) this.advance();
  }

  private unexpected(expected: string): never {
    if (this.pos >= this.text.length) this.fail(this.here(), `unexpected end of input; expected ${expected}`);
    this.fail(this.here(), `unexpected ${describeChar(this.peekChar())}; expected ${expected}`);
  }

  private parseValue(depth: number): JsonNode {
    this.skipWhitespace();
    const char = this.text.charAt(this.pos);
    if (char === '{') return this.parseObject(depth);
    if (char === '[') return this.parseArray(depth);
    if (char === '"') {
      const at = this.here();
      return { kind: 'string', value: this.parseString(), ...at };
    }
    if (char === '-' || (char >= '0' && char <= '9')) return this.parseNumber();
    if (/[A-Za-z]/.test(char)) return this.parseWord();
    this.unexpected('a JSON value');
  }

  private enter(depth: number): void {
    if (depth >= MAX_JSON_DEPTH) this.fail(this.here(), `nested deeper than ${MAX_JSON_DEPTH} levels`);
  }

  private parseObject(depth: number): JsonObjectNode {
    this.enter(depth);
    const at = this.here();
    this.advance(); // '{'
    const members: JsonMember[] = [];
    const seen = new Map<string, SourcePos>();
    this.skipWhitespace();
    if (this.text.charAt(this.pos) === '}') {
      this.advance();
      return { kind: 'object', members, ...at };
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charAt(this.pos) !== '"') {
        if (this.text.charAt(this.pos) === '}' && members.length > 0) this.fail(this.here(), "trailing comma before '}'");
        this.unexpected('a key in double quotes');
      }
      const keyAt = this.here();
      const key = this.parseString();
      const first = seen.get(key);
      if (first) this.fail(keyAt, `duplicate key '${shorten(key)}' (first at line ${first.line}, column ${first.column})`);
      seen.set(key, keyAt);
      this.skipWhitespace();
      if (this.text.charAt(this.pos) !== ':') this.unexpected("':' after the key");
      this.advance();
      members.push({ key, keyAt, value: this.parseValue(depth + 1) });
      this.skipWhitespace();
      const next = this.text.charAt(this.pos);
      if (next === '}') {
        this.advance();
        return { kind: 'object', members, ...at };
      }
      if (next !== ',') this.unexpected("',' or '}'");
      this.advance();
    }
  }

  private parseArray(depth: number): JsonArrayNode {
    this.enter(depth);
    const at = this.here();
    this.advance(); // '['
    const items: JsonNode[] = [];
    this.skipWhitespace();
    if (this.text.charAt(this.pos) === ']') {
      this.advance();
      return { kind: 'array', items, ...at };
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charAt(this.pos) === ']' && items.length > 0) this.fail(this.here(), "trailing comma before ']'");
      items.push(this.parseValue(depth + 1));
      this.skipWhitespace();
      const next = this.text.charAt(this.pos);
      if (next === ']') {
        this.advance();
        return { kind: 'array', items, ...at };
      }
      if (next !== ',') this.unexpected("',' or ']'");
      this.advance();
    }
  }

  /** At the opening quote; returns the decoded string and leaves the cursor after the closing quote. */
  private parseString(): string {
    const start = this.here();
    this.advance(); // '"'
    let value = '';
    let chunkStart = this.pos;
    for (;;) {
      if (this.pos >= this.text.length) this.fail(start, 'unterminated string');
      const code = this.text.charCodeAt(this.pos);
      if (code === 0x22) {
        value += this.text.slice(chunkStart, this.pos);
        this.advance();
        return value;
      }
      if (code === 0x5c) {
        value += this.text.slice(chunkStart, this.pos);
        value += this.parseEscape();
        chunkStart = this.pos;
        continue;
      }
      if (code < 0x20) this.fail(this.here(), `control character ${describeChar(this.text.charAt(this.pos))} in a string; write it as an escape`);
      if (isLowSurrogate(code) || (isHighSurrogate(code) && !isLowSurrogate(this.text.charCodeAt(this.pos + 1)))) {
        this.fail(this.here(), 'unpaired surrogate in a string');
      }
      this.advance();
    }
  }

  /** At a backslash; returns what the escape stands for. */
  private parseEscape(): string {
    const at = this.here();
    this.advance(); // '\'
    const char = this.text.charAt(this.pos);
    if (char in SIMPLE_ESCAPES) {
      this.advance();
      return SIMPLE_ESCAPES[char];
    }
    if (char !== 'u') {
      if (char === '') this.fail(at, 'unterminated string');
      this.fail(at, `invalid escape '\\${this.peekChar()}'`);
    }
    this.advance();
    const unit = this.hex4(at);
    if (isLowSurrogate(unit)) this.fail(at, 'unpaired surrogate escape');
    if (!isHighSurrogate(unit)) return String.fromCharCode(unit);
    // A high surrogate must be followed by an escaped low one: together one code point.
    if (this.text.slice(this.pos, this.pos + 2) !== '\\u') this.fail(at, 'unpaired surrogate escape');
    const lowAt = this.here();
    this.advance();
    this.advance();
    const low = this.hex4(lowAt);
    if (!isLowSurrogate(low)) this.fail(at, 'unpaired surrogate escape');
    return String.fromCharCode(unit, low);
  }

  private hex4(escapeAt: SourcePos): number {
    const digits = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail(escapeAt, 'invalid \\u escape: it needs four hex digits');
    for (let i = 0; i < 4; i++) this.advance();
    return parseInt(digits, 16);
  }

  private parseNumber(): JsonNumberNode {
    const at = this.here();
    const start = this.pos;
    while (this.pos < this.text.length && /[-+.eE0-9]/.test(this.text.charAt(this.pos))) this.advance();
    const text = this.text.slice(start, this.pos);
    if (!STRICT_NUMBER.test(text)) this.fail(at, `invalid number '${shorten(text)}'`);
    return { kind: 'number', text, value: Number(text), ...at };
  }

  private parseWord(): JsonNode {
    const at = this.here();
    const start = this.pos;
    while (this.pos < this.text.length && /[A-Za-z0-9_]/.test(this.text.charAt(this.pos))) this.advance();
    const word = this.text.slice(start, this.pos);
    if (word === 'true' || word === 'false') return { kind: 'boolean', value: word === 'true', ...at };
    if (word === 'null') return { kind: 'null', ...at };
    this.fail(at, `unknown word '${shorten(word)}'; JSON has only true, false and null (strings need double quotes)`);
  }
}

/** Parses `text` as one JSON value; throws a ConfigError with the position of any syntax error. */
export function parseJsonText(text: string, file: string): JsonNode {
  return new JsonTextParser(text, file).parseDocument();
}

/** `a string`, `an object`, ...: how a node's type is named in messages. */
export function describeJsonKind(node: JsonNode): string {
  switch (node.kind) {
    case 'object':
      return 'an object';
    case 'array':
      return 'an array';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'null':
      return 'null';
  }
}
