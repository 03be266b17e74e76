/**
 * Property/fuzz run of the classic config parser: well over 100,000
 * generated and mutated inputs. Every input either parses, and then compiles
 * with compileTable into a buffer the native loader accepts, or throws a
 * ConfigError whose position lies inside the input and whose message is
 * `file:line:column: reason`. Nothing else may escape.
 *
 * Inputs come from two deterministic sources: fast-check (fixed seed) builds
 * structured configs from the grammar in docs/config-classic.md, and a seeded PRNG mutates
 * valid configs (byte flips, token deletions/duplications/swaps, line
 * shuffles, truncations, huge numbers, unicode, CR/LF/tab noise).
 */
import t, { Test } from 'tap';
import fc from 'fast-check';
import { parseClassicConfig } from '../src/config/classic-parser';
import { ConfigError } from '../src/config/config-error';
import { ClassicConfig } from '../src/config/model';
import { compileTable } from '../src/table/compile';
import { serverAddon } from '../src/native/server-addon';
import { Rng } from './helpers/rng';

const FC_SEED = 0x5eed_c0f1;
const PRNG_SEED = 0x0b5e55ed;
const FILE = 'fuzz.conf';
const GENERATED_RUNS = 30_000;
const MUTATED_RUNS = 90_000;
const addon = serverAddon();

// ---- outcome of one input ----

interface Tally {
  inputs: number;
  parsed: number;
  failures: string[];
}

const newTally = (): Tally => ({ inputs: 0, parsed: 0, failures: [] });

/** Lines as the tokenizer sees them: split on LF, BOM and trailing CR removed. */
function lineAt(text: string, line: number): string {
  let raw = text.split('\n')[line - 1];
  if (line === 1 && raw.startsWith('\uFEFF')) raw = raw.slice(1);
  return raw.endsWith('\r') ? raw.slice(0, -1) : raw;
}

/** Why a ConfigError is malformed for text, or null when it is well formed. */
function positionProblem(text: string, e: ConfigError): string | null {
  const lineCount = text.split('\n').length;
  if (!Number.isInteger(e.line) || e.line < 1 || e.line > lineCount) return `line ${e.line} outside 1..${lineCount}`;
  if (!Number.isInteger(e.column) || e.column < 1) return `column ${e.column} below 1`;
  if (typeof e.reason !== 'string' || e.reason.length === 0) return 'empty reason';
  if (e.message !== `${FILE}:${e.line}:${e.column}: ${e.reason}`) return `message not file:line:column: reason: ${e.message}`;
  // The column names a token's first character (config-error.ts): inside the line, not a separator.
  const chars = Array.from(lineAt(text, e.line));
  if (e.column > chars.length) return `column ${e.column} past the end of line ${e.line} (${chars.length} characters)`;
  if (chars[e.column - 1] === ' ' || chars[e.column - 1] === '\t') return `column ${e.column} points at a separator`;
  return null;
}

/** Runs one input through parser, compiler and native loader; returns what went wrong, or null. */
function check(text: string, pathSubstitution: boolean): { parsed: boolean; problem: string | null } {
  let config: ClassicConfig;
  try {
    config = parseClassicConfig(text, FILE);
  } catch (error) {
    if (!(error instanceof ConfigError)) return { parsed: false, problem: `threw ${describe(error)}` };
    return { parsed: false, problem: positionProblem(text, error) };
  }
  let table: Buffer;
  try {
    table = compileTable(config, { pathSubstitution }).bytes;
  } catch (error) {
    return { parsed: true, problem: `parsed, but compileTable threw ${describe(error)}` };
  }
  const reason = addon.tableValidate(table);
  return { parsed: true, problem: reason === null ? null : `parsed and compiled, but the native loader said: ${reason}` };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.constructor.name}: ${error.message}` : JSON.stringify(error);
}

function record(tally: Tally, text: string, pathSubstitution: boolean, label: string): void {
  tally.inputs++;
  const { parsed, problem } = check(text, pathSubstitution);
  if (parsed) tally.parsed++;
  if (problem !== null && tally.failures.length < 10) {
    tally.failures.push(`${label}: ${problem}\n  input ${JSON.stringify(text.length > 400 ? text.slice(0, 400) + '…' : text)}`);
  }
}

// ---- valid configs to mutate ----

const lines = (...list: string[]) => list.join('\n');

const VALID_BASES = [
  lines(
    '# a comment',
    'max-rules:3',
    'max-maps:2',
    'rule-set:0 size:6',
    'ip:2001:db8::/64 port:80 jump-map:1',
    'ip:2001:db8::1/ffff:ffff:: rip:fd00::/8 rport:1234 jump-unix:/run/a.sock',
    'rip:::ffff:10.0.0.1 jump-rule:2',
    'port:22 jump-fd:3',
    'ip:::1',
    'default jump-unix:@abstract',
    'rule-set:2 size:1',
    'rport:65535 fail',
    'default jump-rule:0',
    'map-set:1 size:3 match-lip:128 match-lport',
    'ip:2001:db8::5 port:8080 jump-fd:4',
    'ip:2001:db8::6 port:8080 jump-unix:/run/sub/#//7_-#//P_.sock',
    'default fail',
    '',
  ),
  lines('max-maps:1', 'map-set:0 size:4 match-rip:64 match-rport', 'rip:fd00:1:: rport:1 jump-fd:0', 'rip:fd00:2:: rport:1 fail', 'default jump-unix:/' + 'x'.repeat(106)),
  lines('max-rules:2', 'rule-set:1', 'size:3', 'ip:::1/::ffff:0 rport:22 jump-rule:0', 'default jump-rule:1', 'rule-set:0 default jump-rule:1'),
  '\uFEFFmax-rules:1\r\nrule-set:0\tsize:2\r\n\tip:::ffff:127.0.0.5  port:8080\tjump-unix:/tmp/echo.sock\r\ndefault fail\r\n',
  lines('max-rules:1', 'max-maps:1', 'rule-set:0 size:1', 'jump-map:0', 'map-set:0 size:2', 'jump-unix:/run/only.sock', 'default jump-rule:0'),
];

// ---- fast-check: structured configs from the grammar ----

const hexGroup = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const address = fc.oneof(
  fc.array(hexGroup, { minLength: 8, maxLength: 8 }).map((g) => g.join(':')),
  fc.tuple(fc.array(hexGroup, { maxLength: 3 }), fc.array(hexGroup, { maxLength: 3 })).map(([a, b]) => `${a.join(':')}::${b.join(':')}`),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((q) => `::ffff:${q.join('.')}`),
  fc.constantFrom('::', '::1', '2001:db8::1', 'fe80::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'),
);
const ruleAddress = fc.oneof(
  address,
  fc.tuple(address, fc.integer({ min: 0, max: 128 })).map(([a, n]) => `${a}/${n}`),
  fc.tuple(address, address).map(([a, m]) => `${a}/${m}`),
);
const port = fc.integer({ min: 0, max: 65535 });
const unixPath = fc.oneof(
  fc.stringMatching(/^\/[a-z0-9_./-]{1,40}$/),
  fc.stringMatching(/^@[a-z0-9:]{1,20}$/),
  fc.constantFrom('/run/#//0_/#//7_-#//P_.sock', '/' + 'p'.repeat(106), '/' + 'p'.repeat(107), '/ünï/ćødé.sock'),
);

/** An action whose set ids fall inside max-* most of the time (and outside sometimes). */
const action = (maxRules: number, maxMaps: number) =>
  fc.oneof(
    fc.constant('fail'),
    unixPath.map((p) => `jump-unix:${p}`),
    fc.integer({ min: 0, max: 0x7fffffff }).map((n) => `jump-fd:${n}`),
    fc.integer({ min: 0, max: maxRules }).map((n) => `jump-rule:${n}`),
    fc.integer({ min: 0, max: maxMaps }).map((n) => `jump-map:${n}`),
  );

const entry = (inMap: boolean, maxRules: number, maxMaps: number) =>
  fc
    .record(
      {
        ip: inMap ? address : ruleAddress,
        rip: inMap ? address : ruleAddress,
        port,
        rport: port,
        act: action(maxRules, maxMaps),
      },
      { requiredKeys: [] },
    )
    .chain((e) => fc.shuffledSubarray(Object.entries(e).map(([k, v]) => (k === 'act' ? String(v) : `${k}:${v}`)), { minLength: Object.keys(e).length }))
    .filter((tokens) => tokens.length > 0)
    .map((tokens) => tokens.join(' '));

const setSection = (kind: 'rule' | 'map', id: number, maxRules: number, maxMaps: number) =>
  fc
    .record({
      size: fc.integer({ min: 1, max: 6 }),
      header: kind === 'map' ? fc.subarray(['match-lip:64', 'match-lip:128', 'match-rip:96', 'match-lport', 'match-rport']) : fc.constant([] as string[]),
      entries: fc.array(entry(kind === 'map', maxRules, maxMaps), { maxLength: 6 }),
      dflt: fc.option(action(maxRules, maxMaps), { nil: null }),
    })
    .map(({ size, header, entries, dflt }) => {
      // Two match-lip tokens are a user error worth generating now and then, but keep most maps valid.
      const distinct = header.filter((h, i) => !header.slice(0, i).some((x) => x.split(':')[0] === h.split(':')[0]));
      const out = [`${kind}-set:${id} size:${size} ${distinct.join(' ')}`.trim(), ...entries];
      if (dflt !== null) out.push(`default ${dflt}`);
      return out.join('\n');
    });

const structuredConfig = fc
  .record({ maxRules: fc.integer({ min: 1, max: 4 }), maxMaps: fc.integer({ min: 0, max: 3 }) })
  .chain(({ maxRules, maxMaps }) =>
    fc
      .tuple(
        fc.subarray([...Array(maxRules).keys()].map((id) => ['rule', id] as const)),
        fc.subarray([...Array(maxMaps).keys()].map((id) => ['map', id] as const)),
      )
      .chain(([rules, maps]) => fc.tuple(...[...rules, ...maps].map(([kind, id]) => setSection(kind, id, maxRules, maxMaps))))
      .map((sections) => [`max-rules:${maxRules}`, ...(maxMaps > 0 ? [`max-maps:${maxMaps}`] : []), ...sections].join('\n')),
  );

// ---- seeded PRNG mutations ----

/** Text split into tokens (even indexes) and the separators between them (odd), so it can be rejoined. */
const pieces = (text: string) => text.split(/([ \t\r\n]+)/);

function tokenIndexes(parts: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < parts.length; i += 2) if (parts[i].length > 0) out.push(i);
  return out;
}

const HUGE_NUMBERS = [
  '4294967296', '4294967295', '2147483648', '2147483647', '9007199254740993', '1'.repeat(40), '0'.repeat(30) + '7',
  '1e3', '0x10', '-1', '+1', '1.5', '１２', '٣', 'Infinity', 'NaN', '', '00', '1000', '1001', '999', '65536', '129',
];
const ODD_VALUES = [
  '::', ':::', '::1/129', '::1/-1', '::1/', '/64', '1.2.3.4', '::ffff:1.2.3.4/120', '[::1]', 'fe80::1%lo', '::1/::1/::1',
  '@', '/' + 'a'.repeat(107), '/' + 'é'.repeat(60), 'a\u0000b', '#', ':', 'jump-unix', 'default', 'fail',
];
const UNICODE = ['\u00a0', '\u2028', '\u2029', '\u200b', '\ufeff', '\ufffd', '\u0301', '\u202e', '\u{1F600}', '\ud800', '\udc00', '\u0000', 'ß', '１', '＃', '\u3000'];
const NOISE = ['\r', '\n', '\t', '\r\n', '\n\r', '\v', '\f', ' ', '\t\t', '\n#', '\r\r\n'];
const KEYS = ['max-rules', 'max-maps', 'rule-set', 'map-set', 'size', 'match-lip', 'match-rip', 'match-lport', 'match-rport', 'default', 'ip', 'rip', 'port', 'rport', 'jump-unix', 'jump-fd', 'jump-rule', 'jump-map', 'fail'];

type Mutator = (text: string, rng: Rng) => string;

const MUTATORS: Array<[string, Mutator]> = [
  ['byte flip', (text, rng) => {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length === 0) return text;
    for (let n = 1 + rng.int(3); n > 0; n--) bytes[rng.int(bytes.length)] ^= 1 << rng.int(8);
    return bytes.toString('utf8'); // what reading the file as UTF-8 would give
  }],
  ['token deletion', (text, rng) => {
    const parts = pieces(text);
    const tokens = tokenIndexes(parts);
    if (tokens.length > 0) parts[rng.pick(tokens)] = '';
    return parts.join('');
  }],
  ['token duplication', (text, rng) => {
    const parts = pieces(text);
    const tokens = tokenIndexes(parts);
    if (tokens.length > 0) {
      const i = rng.pick(tokens);
      parts[i] = `${parts[i]}${rng.pick([' ', '\t', '\n'])}${parts[i]}`;
    }
    return parts.join('');
  }],
  ['token swap', (text, rng) => {
    const parts = pieces(text);
    const tokens = tokenIndexes(parts);
    if (tokens.length > 1) {
      const [a, b] = [rng.pick(tokens), rng.pick(tokens)];
      [parts[a], parts[b]] = [parts[b], parts[a]];
    }
    return parts.join('');
  }],
  ['token move to another line', (text, rng) => {
    const parts = pieces(text);
    const tokens = tokenIndexes(parts);
    if (tokens.length > 1) {
      const [from, to] = [rng.pick(tokens), rng.pick(tokens)];
      const moved = parts[from];
      parts[from] = '';
      parts[to] = `${parts[to]} ${moved}`;
    }
    return parts.join('');
  }],
  ['line shuffle', (text, rng) => {
    const list = text.split('\n');
    for (let i = list.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [list[i], list[j]] = [list[j], list[i]];
    }
    return list.join('\n');
  }],
  ['line swap, duplication or deletion', (text, rng) => {
    const list = text.split('\n');
    const i = rng.int(list.length);
    const j = rng.int(list.length);
    const op = rng.int(3);
    if (op === 0) [list[i], list[j]] = [list[j], list[i]];
    else if (op === 1) list.splice(j, 0, list[i]);
    else list.splice(i, 1);
    return list.join('\n');
  }],
  ['truncation', (text, rng) => (rng.int(2) ? text.slice(0, rng.int(text.length + 1)) : Buffer.from(text).subarray(0, rng.int(Buffer.byteLength(text) + 1)).toString('utf8'))],
  ['huge or odd number', (text, rng) => {
    const runs = [...text.matchAll(/[0-9]+/g)];
    if (runs.length === 0) return text;
    const m = rng.pick(runs);
    return text.slice(0, m.index) + rng.pick(HUGE_NUMBERS) + text.slice(m.index + m[0].length);
  }],
  ['odd value', (text, rng) => {
    const parts = pieces(text);
    const withValue = tokenIndexes(parts).filter((i) => parts[i].includes(':'));
    if (withValue.length === 0) return text;
    const i = rng.pick(withValue);
    parts[i] = `${parts[i].slice(0, parts[i].indexOf(':') + 1)}${rng.pick([...ODD_VALUES, ...HUGE_NUMBERS])}`;
    return parts.join('');
  }],
  ['key swap', (text, rng) => {
    const parts = pieces(text);
    const tokens = tokenIndexes(parts);
    if (tokens.length === 0) return text;
    const i = rng.pick(tokens);
    const colon = parts[i].indexOf(':');
    parts[i] = rng.pick(KEYS) + (colon < 0 ? (rng.int(2) ? '' : ':1') : parts[i].slice(colon));
    return parts.join('');
  }],
  ['unicode', (text, rng) => {
    const at = rng.int(text.length + 1);
    return text.slice(0, at) + rng.pick(UNICODE) + text.slice(at);
  }],
  ['CR/LF/tab noise', (text, rng) => {
    let out = text;
    for (let n = 1 + rng.int(4); n > 0; n--) {
      const at = rng.int(out.length + 1);
      out = out.slice(0, at) + rng.pick(NOISE) + out.slice(at);
    }
    return out;
  }],
  ['character deletion', (text, rng) => {
    const at = rng.int(text.length + 1);
    return text.slice(0, at) + text.slice(at + 1 + rng.int(4));
  }],
  ['huge input', (text, rng) => {
    // Long tokens and many lines must stay cheap and positioned.
    const filler = rng.pick(['a'.repeat(5000), 'port:1 '.repeat(1000), '\n'.repeat(5000), `ip:${'1:'.repeat(2000)}`]);
    const at = rng.int(text.length + 1);
    return text.slice(0, at) + filler + text.slice(at);
  }],
];

/** One mutated input: a base (a fixed valid config, or a generated one) with 1..4 mutations. */
function mutate(base: string, rng: Rng): { text: string; applied: string[] } {
  let text = base;
  const applied: string[] = [];
  for (let n = 1 + rng.int(4); n > 0; n--) {
    // Huge inputs are expensive to stack; keep them rare.
    const [name, fn] = rng.int(200) === 0 ? MUTATORS[MUTATORS.length - 1] : rng.pick(MUTATORS.slice(0, -1));
    text = fn(text, rng);
    applied.push(name);
  }
  return { text, applied };
}

// ---- the runs ----

const totals = newTally();
const started = Date.now();

function report(t: Test, tally: Tally, what: string, seconds: number): void {
  t.comment(`${what}: ${tally.inputs} inputs, ${tally.parsed} parsed, ${tally.inputs - tally.parsed} rejected, ${seconds.toFixed(1)} s`);
  t.same(tally.failures, [], `${what}: every input parses (and loads natively) or fails with a positioned ConfigError`);
  totals.inputs += tally.inputs;
  totals.parsed += tally.parsed;
}

t.test('fast-check: structured configs from the grammar', async (t) => {
  const tally = newTally();
  const begin = Date.now();
  fc.assert(
    fc.property(structuredConfig, fc.boolean(), (text, pathSubstitution) => {
      const before = tally.failures.length;
      record(tally, text, pathSubstitution, 'generated');
      // Failing inside the property lets fast-check shrink the input to a small one.
      return tally.failures.length === before;
    }),
    { seed: FC_SEED, numRuns: GENERATED_RUNS },
  );
  t.ok(tally.parsed > GENERATED_RUNS / 4, `a good share of generated configs parse (${tally.parsed})`);
  report(t, tally, 'generated', (Date.now() - begin) / 1000);
});

t.test('seeded mutations of valid configs', async (t) => {
  const rng = new Rng(PRNG_SEED);
  const tally = newTally();
  const begin = Date.now();
  const generated = fc.sample(structuredConfig, { seed: FC_SEED + 1, numRuns: 200 });
  for (const base of VALID_BASES) t.doesNotThrow(() => parseClassicConfig(base, FILE), 'a base config is valid');
  const byMutator = new Map<string, number>();
  for (let i = 0; i < MUTATED_RUNS; i++) {
    const base = i % 2 === 0 ? rng.pick(VALID_BASES) : rng.pick(generated);
    const { text, applied } = mutate(base, rng);
    for (const name of applied) byMutator.set(name, (byMutator.get(name) ?? 0) + 1);
    record(tally, text, rng.int(2) === 0, `mutation #${i} (${applied.join(', ')}; seed ${PRNG_SEED})`);
  }
  t.equal(byMutator.size, MUTATORS.length, 'every mutator was used');
  t.ok(tally.parsed > 1000 && tally.inputs - tally.parsed > 1000, 'both outcomes are common');
  report(t, tally, 'mutated', (Date.now() - begin) / 1000);
});

t.test('raw random text', async (t) => {
  // Mostly junk: exercises the tokenizer and the "unknown token" paths with arbitrary code units.
  const tally = newTally();
  const begin = Date.now();
  fc.assert(
    fc.property(fc.string({ maxLength: 80, unit: fc.oneof(fc.constantFrom(...NOISE, ...KEYS, ':', '#', '/'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })) }), (text) => {
      const before = tally.failures.length;
      record(tally, 'max-rules:2 max-maps:1\nrule-set:0 size:3\n' + text, false, 'random text');
      return tally.failures.length === before;
    }),
    { seed: FC_SEED + 2, numRuns: 5_000 },
  );
  report(t, tally, 'random text', (Date.now() - begin) / 1000);
});

t.test('totals', async (t) => {
  t.comment(`fuzz-config: ${totals.inputs} inputs, ${totals.parsed} parsed, in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.ok(totals.inputs >= 100_000, `at least 100,000 inputs (${totals.inputs})`);
});
