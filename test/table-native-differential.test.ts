/**
 * Differential test: the native lookup (native/server/lookup.c, reached through
 * `serverAddon().tableLookup`) against the reference lookup that works straight
 * from the config model (src/table/reference-lookup.ts).
 *
 * Random VALID classic configs are generated as text and parsed with
 * parseClassicConfig (so the parser is exercised on every spelling we can
 * produce), compiled with compileTable, and probed with random tuples biased
 * to hit entries. Every decision kind must be produced often, so the test
 * cannot pass by agreeing on "no match" everywhere.
 */
import t from 'tap';
import { parseClassicConfig } from '../src/config/classic-parser';
import { ClassicConfig } from '../src/config/model';
import { formatIPv6, prefixMask, tupleFromAddresses } from '../src/net/address';
import { serverAddon, NativeDecision } from '../src/native/server-addon';
import { compileTable } from '../src/table/compile';
import { LookupResult, referenceLookup } from '../src/table/reference-lookup';
import { Rng } from './helpers/rng';
import { isIPv4Mapped } from '../testkit/ipv4-mapped';
import { decidedTarget, TARGET_FD, TARGET_UNIX, targetPath } from '../testkit/table-layout';

const SEED = 0x5b0c7e57;
const RANDOM_CONFIGS = 400;
const TUPLES_PER_CONFIG = 500;
const MIN_PER_KIND = 300;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

// ---- address spellings: exercise every form the parser accepts ----

function groupsOf(bytes: Uint8Array): number[] {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  return groups;
}

/** One of several valid spellings of `bytes`. */
function spellAddress(rng: Rng, bytes: Uint8Array): string {
  const groups = groupsOf(bytes);
  const group = (g: number) => {
    let text = g.toString(16);
    if (rng.chance(0.2)) text = text.padStart(rng.range(text.length, 4), '0');
    return rng.chance(0.3) ? text.toUpperCase() : text;
  };
  const dotted = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  switch (rng.int(5)) {
    case 0:
    case 1:
      return formatIPv6(bytes); // RFC 5952, mapped addresses dotted
    case 2:
      return groups.map(group).join(':'); // fully expanded
    case 3:
      return `${groups.slice(0, 6).map(group).join(':')}:${dotted}`; // embedded IPv4
    default: {
      if (isIPv4Mapped(bytes)) return rng.chance(0.5) ? `::ffff:${group(groups[6])}:${group(groups[7])}` : `::FFFF:${dotted}`;
      // `::` in place of the longest zero run, or of the first zero group.
      const zero = groups.indexOf(0);
      if (zero < 0) return groups.map(group).join(':');
      let end = zero;
      while (end < 8 && groups[end] === 0) end++;
      return `${groups.slice(0, zero).map(group).join(':')}::${groups.slice(end).map(group).join(':')}`;
    }
  }
}

function spellNumber(rng: Rng, n: number): string {
  return rng.chance(0.08) ? `${'0'.repeat(rng.range(1, 3))}${n}` : String(n);
}

// ---- random config generation ----

interface Pools {
  addresses: Uint8Array[];
  ports: number[];
  /** Map keys as written (before masking) with their map's mask: tuples that hit them. */
  keys: Array<{ key: Uint8Array; mask: Uint8Array }>;
}

const PATHS = [
  '/run/socketbox/a.sock',
  '/run/socketbox/b.sock',
  '@abstract-target',
  '/tmp/with:colon#hash',
  '/tmp/caf\u00e9.sock', // multi-byte UTF-8
  '/' + 'p'.repeat(106), // exactly 107 bytes
  '@' + 'x'.repeat(106),
  '/srv/#//0_/#//P_.sock', // -U template markers
];
const FDS = [0, 1, 3, 4, 7, 100, 65535, 0x7fffffff];
const PREFIXES = [0, 1, 7, 8, 9, 16, 48, 63, 64, 65, 80, 96, 97, 100, 104, 112, 120, 121, 126, 127, 128];

function randomAddress(rng: Rng): Uint8Array {
  const bytes = new Uint8Array(16);
  switch (rng.int(6)) {
    case 0: // IPv4-mapped, from a small space so several entries share prefixes
      bytes[10] = 0xff;
      bytes[11] = 0xff;
      bytes.set([rng.pick([10, 127, 192, 203]), rng.pick([0, 1, 168]), rng.int(4), rng.int(256)], 12);
      return bytes;
    case 1: // documentation prefix
      bytes.set([0x20, 0x01, 0x0d, 0xb8, 0, rng.int(3), 0, rng.int(3)]);
      bytes[14] = rng.int(2);
      bytes[15] = rng.int(256);
      return bytes;
    case 2:
      return rng.bytes(16);
    case 3:
      if (rng.chance(0.5)) bytes[15] = 1; // ::1 or ::
      return bytes;
    case 4: // link local
      bytes.set([0xfe, 0x80]);
      bytes.set(rng.bytes(2), 14);
      return bytes;
    default: // unique local, random low half
      bytes.set([0xfd, 0x00, 0, 0, 0, 0, 0, rng.int(4)]);
      bytes.set(rng.bytes(8), 8);
      return bytes;
  }
}

function randomPort(rng: Rng): number {
  return rng.chance(0.7) ? rng.pick([0, 1, 22, 80, 443, 8080, 65535]) : rng.int(65536);
}

interface Shape {
  maxRules: number | null;
  maxMaps: number | null;
}

function randomAction(rng: Rng, shape: Shape, weights: Record<string, number>): string | null {
  const kind = rng.weighted({
    unix: weights.unix,
    fd: weights.fd,
    rule: shape.maxRules ? weights.rule : 0,
    map: shape.maxMaps ? weights.map : 0,
    fail: weights.fail,
    none: weights.none,
  });
  switch (kind) {
    case 'unix':
      return `jump-unix:${rng.pick(PATHS)}`;
    case 'fd':
      return `jump-fd:${spellNumber(rng, rng.pick(FDS))}`;
    case 'rule':
      return `jump-rule:${spellNumber(rng, rng.int(shape.maxRules!))}`;
    case 'map':
      return `jump-map:${spellNumber(rng, rng.int(shape.maxMaps!))}`;
    case 'fail':
      return 'fail';
    default:
      return null;
  }
}

const ENTRY_ACTIONS = { unix: 30, fd: 22, rule: 12, map: 12, fail: 10, none: 4 };
const DEFAULT_ACTIONS = { unix: 10, fd: 8, rule: 14, map: 12, fail: 10, none: 0 };

/** `ADDR`, `ADDR/LEN` or `ADDR/MASKADDR` for a rule entry. */
function ruleAddress(rng: Rng, pools: Pools): string {
  const address = rng.chance(0.8) ? rng.pick(pools.addresses) : randomAddress(rng);
  pools.addresses.push(address);
  const text = spellAddress(rng, address);
  switch (rng.int(4)) {
    case 0:
      return text;
    case 1:
    case 2:
      return `${text}/${spellNumber(rng, rng.pick(PREFIXES))}`;
    default: {
      // Mask written as an address: a prefix, or an arbitrary (non-contiguous) one.
      const mask = rng.chance(0.5)
        ? prefixMask(rng.pick(PREFIXES))
        : Uint8Array.from(rng.bytes(16), (b) => (rng.chance(0.4) ? 0xff : rng.chance(0.5) ? 0 : b));
      return `${text}/${spellAddress(rng, mask)}`;
    }
  }
}

function separator(rng: Rng): string {
  return rng.pick([' ', ' ', ' ', '  ', '\t', ' \t ']);
}

function line(rng: Rng, tokens: string[]): string {
  const lead = rng.chance(0.1) ? rng.pick([' ', '\t']) : '';
  const trail = rng.chance(0.1) ? rng.pick([' ', '\t']) : '';
  return lead + tokens.map((tok, i) => (i === 0 ? tok : separator(rng) + tok)).join('') + trail;
}

function ruleSetLines(rng: Rng, id: number, shape: Shape, pools: Pools): string[] {
  const out: string[] = [];
  const n = rng.chance(0.15) ? 0 : rng.range(1, 10);
  const size = n === 0 && rng.chance(0.5) ? null : rng.chance(0.5) ? Math.max(n, 1) : rng.range(Math.max(n, 1), 1000);
  const header = [`rule-set:${spellNumber(rng, id)}`];
  if (size !== null) header.push(`size:${spellNumber(rng, size)}`);
  if (rng.chance(0.3)) out.push(header[0], ...header.slice(1));
  else out.push(line(rng, header));
  const body: string[] = [];
  for (let k = 0; k < n; k++) {
    const tokens: string[] = [];
    if (rng.chance(0.6)) tokens.push(`ip:${ruleAddress(rng, pools)}`);
    if (rng.chance(0.45)) tokens.push(`rip:${ruleAddress(rng, pools)}`);
    if (rng.chance(0.35)) tokens.push(`port:${spellNumber(rng, rng.pick(pools.ports))}`);
    if (rng.chance(0.25)) tokens.push(`rport:${spellNumber(rng, rng.pick(pools.ports))}`);
    const action = randomAction(rng, shape, ENTRY_ACTIONS);
    if (action !== null || tokens.length === 0) tokens.push(action ?? 'fail');
    body.push(line(rng, rng.shuffle(tokens)));
  }
  if (rng.chance(0.7)) {
    const action = randomAction(rng, shape, DEFAULT_ACTIONS)!;
    body.splice(rng.int(body.length + 1), 0, line(rng, ['default', action]));
  }
  return out.concat(body);
}

function mapSetLines(rng: Rng, id: number, shape: Shape, pools: Pools): string[] {
  // Each combination of the four match tokens, uniformly.
  const combo = rng.int(16);
  const lip = combo & 1 ? rng.pick([...PREFIXES, 128, 128, 128]) : null;
  const rip = combo & 2 ? rng.pick([...PREFIXES, 128, 128, 128]) : null;
  const lport = (combo & 4) !== 0;
  const rport = (combo & 8) !== 0;
  const matchTokens: string[] = [];
  if (lip !== null) matchTokens.push(`match-lip:${spellNumber(rng, lip)}`);
  if (rip !== null) matchTokens.push(`match-rip:${spellNumber(rng, rip)}`);
  if (lport) matchTokens.push('match-lport');
  if (rport) matchTokens.push('match-rport');
  const mask = new Uint8Array(36);
  if (lip !== null) mask.set(prefixMask(lip), 0);
  if (rip !== null) mask.set(prefixMask(rip), 16);
  if (lport) mask.fill(0xff, 32, 34);
  if (rport) mask.fill(0xff, 34, 36);

  const wanted = rng.chance(0.1) ? 0 : rng.range(1, 14);
  const seen = new Set<string>();
  const body: string[] = [];
  for (let attempt = 0; attempt < wanted * 3 && body.length < wanted; attempt++) {
    const key = new Uint8Array(36);
    const tokens: string[] = [];
    if (rng.chance(lip !== null ? 0.9 : 0.15)) {
      const a = rng.chance(0.7) ? rng.pick(pools.addresses) : randomAddress(rng);
      pools.addresses.push(a);
      key.set(a, 0);
      tokens.push(`ip:${spellAddress(rng, a)}`);
    }
    if (rng.chance(rip !== null ? 0.9 : 0.15)) {
      const a = rng.chance(0.7) ? rng.pick(pools.addresses) : randomAddress(rng);
      pools.addresses.push(a);
      key.set(a, 16);
      tokens.push(`rip:${spellAddress(rng, a)}`);
    }
    if (rng.chance(lport ? 0.85 : 0.1)) {
      const p = rng.pick(pools.ports);
      key[32] = p >> 8;
      key[33] = p & 0xff;
      tokens.push(`port:${spellNumber(rng, p)}`);
    }
    if (rng.chance(rport ? 0.85 : 0.1)) {
      const p = rng.pick(pools.ports);
      key[34] = p >> 8;
      key[35] = p & 0xff;
      tokens.push(`rport:${spellNumber(rng, p)}`);
    }
    const written = Uint8Array.from(key);
    for (let i = 0; i < 36; i++) key[i] &= mask[i];
    const k = hex(key);
    if (seen.has(k)) continue; // the parser rejects duplicate keys: keep the config valid
    seen.add(k);
    pools.keys.push({ key: written, mask });
    const action = randomAction(rng, shape, ENTRY_ACTIONS);
    if (action !== null || tokens.length === 0) tokens.push(action ?? 'fail');
    body.push(line(rng, rng.shuffle(tokens)));
  }
  const n = body.length;
  const size = n === 0 && rng.chance(0.5) ? null : rng.chance(0.5) ? Math.max(n, 1) : rng.range(Math.max(n, 1), 1000);
  const header = [`map-set:${spellNumber(rng, id)}`];
  if (size !== null) header.push(`size:${spellNumber(rng, size)}`);
  const out: string[] = [];
  // match-* tokens: on the header line, on lines of their own, or after the entries.
  const where = rng.int(3);
  if (where === 0) out.push(line(rng, [...header, ...rng.shuffle(matchTokens)]));
  else out.push(line(rng, header));
  if (where === 1 && matchTokens.length > 0) out.push(line(rng, rng.shuffle(matchTokens)));
  out.push(...body);
  if (where === 2 && matchTokens.length > 0) out.push(line(rng, rng.shuffle(matchTokens)));
  if (rng.chance(0.7)) {
    const action = randomAction(rng, shape, DEFAULT_ACTIONS)!;
    out.splice(rng.range(1, out.length), 0, line(rng, ['default', action]));
  }
  return out;
}

interface Generated {
  text: string;
  pools: Pools;
}

function randomConfig(rng: Rng): Generated {
  const pools: Pools = { addresses: [], ports: [], keys: [] };
  for (let i = rng.range(2, 6); i > 0; i--) pools.addresses.push(randomAddress(rng));
  for (let i = rng.range(2, 5); i > 0; i--) pools.ports.push(randomPort(rng));
  // Rarely no rule sets at all: every connection is "no match".
  const shape: Shape = {
    maxRules: rng.chance(0.03) ? null : rng.range(1, 6),
    maxMaps: rng.chance(0.2) ? null : rng.range(1, 5),
  };
  const lines: string[] = [];
  const comment = () => {
    if (rng.chance(0.15)) lines.push(rng.pick(['', '# a comment', '#', '   ', '#max-rules:0 nonsense']));
  };
  comment();
  const globals: string[] = [];
  if (shape.maxRules !== null) globals.push(`max-rules:${spellNumber(rng, shape.maxRules)}`);
  if (shape.maxMaps !== null) globals.push(`max-maps:${spellNumber(rng, shape.maxMaps)}`);
  if (rng.chance(0.5)) lines.push(line(rng, rng.shuffle(globals)));
  else lines.push(...globals);
  const sets: Array<['rule' | 'map', number]> = [];
  for (let id = 0; id < (shape.maxRules ?? 0); id++) if (rng.chance(id === 0 ? 0.95 : 0.85)) sets.push(['rule', id]);
  for (let id = 0; id < (shape.maxMaps ?? 0); id++) if (rng.chance(0.85)) sets.push(['map', id]);
  for (const [kind, id] of rng.shuffle(sets)) {
    comment();
    const setLines = kind === 'rule' ? ruleSetLines(rng, id, shape, pools) : mapSetLines(rng, id, shape, pools);
    for (const l of setLines) {
      lines.push(l);
      comment();
    }
  }
  const eol = rng.chance(0.1) ? '\r\n' : '\n';
  return { text: lines.join(eol) + (rng.chance(0.5) ? eol : ''), pools };
}

// ---- tuples biased towards the config's own addresses and ports ----

function tupleAddress(rng: Rng, pools: Pools): Uint8Array {
  const r = rng.int(100);
  if (r < 50) {
    const a = Uint8Array.from(rng.pick(pools.addresses));
    const how = rng.int(4);
    if (how === 1) a[15 - rng.int(2)] ^= 1 << rng.int(8); // flip a low bit
    else if (how === 2) a[rng.int(16)] ^= 1 << rng.int(8); // flip any bit
    else if (how === 3) {
      // keep a random prefix, randomize the rest: lands inside /LEN entries
      const keep = rng.pick(PREFIXES);
      const noise = rng.bytes(16);
      const mask = prefixMask(keep);
      for (let i = 0; i < 16; i++) a[i] = (a[i] & mask[i]) | (noise[i] & ~mask[i]);
    }
    return a;
  }
  if (r < 70) {
    const a = new Uint8Array(16);
    a[10] = 0xff;
    a[11] = 0xff;
    a.set(rng.bytes(4), 12);
    return a;
  }
  if (r < 80) return rng.bytes(16);
  if (r < 88) {
    const a = new Uint8Array(16);
    if (rng.chance(0.5)) a[15] = 1;
    return a;
  }
  return randomAddress(rng);
}

function tuplePort(rng: Rng, pools: Pools): number {
  const r = rng.int(10);
  if (r < 6) return rng.pick(pools.ports);
  if (r < 7) return (rng.pick(pools.ports) + rng.pick([1, 0xffff])) & 0xffff;
  return rng.int(65536);
}

function randomTuple(rng: Rng, pools: Pools): Uint8Array {
  if (pools.keys.length > 0 && rng.chance(0.25)) {
    // A map key: what the mask ignores is random, and now and then one bit flips.
    const { key, mask } = rng.pick(pools.keys);
    const noise = rng.bytes(36);
    const tuple = Uint8Array.from(key, (byte, i) => (byte & mask[i]) | (noise[i] & ~mask[i]));
    if (rng.chance(0.2)) tuple[rng.int(36)] ^= 1 << rng.int(8);
    return tuple;
  }
  const tuple = new Uint8Array(36);
  tuple.set(tupleAddress(rng, pools), 0);
  tuple.set(tupleAddress(rng, pools), 16);
  const lport = tuplePort(rng, pools);
  const rport = tuplePort(rng, pools);
  tuple[32] = lport >> 8;
  tuple[33] = lport & 0xff;
  tuple[34] = rport >> 8;
  tuple[35] = rport & 0xff;
  return tuple;
}

// ---- comparing a native decision with the reference result ----

type Kind = 'unix' | 'fd' | 'fail' | 'no_match' | 'loop';

/** The native decision in the reference's terms: targets resolved from the table bytes. */
function nativeResult(table: Buffer, decision: NativeDecision): LookupResult | string {
  if (decision.kind !== 'target') return { kind: decision.kind };
  const target = decidedTarget(table, decision.target);
  if (typeof target === 'string') return target;
  if (target.kind === TARGET_UNIX) return { kind: 'unix', path: targetPath(table, target) };
  if (target.kind === TARGET_FD) return { kind: 'fd', fd: target.a };
  return `target record ${decision.target} has kind ${target.kind}`;
}

function sameResult(a: LookupResult, b: LookupResult): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'unix') return a.path === (b as { path: string }).path;
  if (a.kind === 'fd') return a.fd === (b as { fd: number }).fd;
  return true;
}

interface Tally {
  counts: Record<Kind, number>;
  /** Lookup steps decided by a matching rule entry (not the set's default). */
  ruleHits: number;
  /** Map hits by match combination: bit 0 match-lip, 1 match-rip, 2 match-lport, 3 match-rport. */
  mapHits: number[];
  tuples: number;
  configs: number;
  mismatches: string[];
}

function newTally(): Tally {
  return {
    counts: { unix: 0, fd: 0, fail: 0, no_match: 0, loop: 0 },
    ruleHits: 0,
    mapHits: new Array<number>(16).fill(0),
    tuples: 0,
    configs: 0,
    mismatches: [],
  };
}

function checkTuple(tally: Tally, label: string, config: ClassicConfig, table: Buffer, tuple: Uint8Array): LookupResult {
  const { result: expected, steps } = referenceLookup(config, tuple);
  for (const step of steps) {
    if (step.line === null) continue;
    const [kind, id] = step.set.split(':');
    if (kind === 'rule-set') {
      tally.ruleHits++;
    } else {
      const m = config.mapSets[Number(id)].match;
      tally.mapHits[(m.localPrefix !== null ? 1 : 0) | (m.remotePrefix !== null ? 2 : 0) | (m.localPort ? 4 : 0) | (m.remotePort ? 8 : 0)]++;
    }
  }
  const decision = serverAddon().tableLookup(table, Buffer.from(tuple));
  const actual = nativeResult(table, decision);
  tally.tuples++;
  tally.counts[expected.kind]++;
  if (typeof actual === 'string' || !sameResult(actual, expected)) {
    if (tally.mismatches.length < 5) {
      tally.mismatches.push(
        `${label}: tuple ${hex(tuple)}: native ${JSON.stringify(decision)} -> ${JSON.stringify(actual)}, reference ${JSON.stringify(expected)}`,
      );
    } else {
      tally.mismatches.push('');
    }
  }
  return expected;
}

// ---- the tests ----

t.test('native lookup agrees with the reference lookup on random configs', async (t) => {
  const rng = new Rng(SEED);
  const tally = newTally();
  const parseFailures: string[] = [];
  const started = Date.now();
  for (let c = 0; c < RANDOM_CONFIGS; c++) {
    const { text, pools } = randomConfig(rng);
    let config: ClassicConfig;
    try {
      config = parseClassicConfig(text, `random-${c}.conf`);
    } catch (err) {
      parseFailures.push(`config #${c} (seed ${SEED}): ${(err as Error).message}\n${text}`);
      continue;
    }
    const table = compileTable(config, { pathSubstitution: rng.chance(0.5) }).bytes;
    const reason = serverAddon().tableValidate(table);
    if (reason !== null) {
      parseFailures.push(`config #${c}: the native loader rejects its compiled table: ${reason}\n${text}`);
      continue;
    }
    tally.configs++;
    for (let k = 0; k < TUPLES_PER_CONFIG; k++) {
      const before = tally.mismatches.length;
      checkTuple(tally, `config #${c}`, config, table, randomTuple(rng, pools));
      if (tally.mismatches.length > before && before < 5) tally.mismatches[before] += `\nconfig:\n${text}`;
    }
  }
  const seconds = (Date.now() - started) / 1000;
  t.same(parseFailures.slice(0, 3), [], 'every generated config parses, compiles and loads');
  t.equal(tally.configs, RANDOM_CONFIGS);
  t.ok(tally.tuples >= 100_000, `${tally.tuples} tuples checked`);
  t.same(tally.mismatches.slice(0, 5), [], `native and reference agree (${tally.mismatches.length} mismatches)`);
  for (const kind of Object.keys(tally.counts) as Kind[]) {
    t.ok(tally.counts[kind] >= MIN_PER_KIND, `decision ${kind} produced ${tally.counts[kind]} times (>= ${MIN_PER_KIND})`);
  }
  t.ok(tally.ruleHits >= 10_000, `${tally.ruleHits} steps decided by a rule entry`);
  tally.mapHits.forEach((hits, combo) => t.ok(hits >= 100, `map match combination ${combo}: ${hits} entry hits`));
  t.comment(`${tally.configs} configs, ${tally.tuples} tuples in ${seconds.toFixed(1)} s: ${JSON.stringify(tally.counts)}`);
});

t.test('the step limit: 100 sets visited decide, a 101st is a loop', async (t) => {
  const chain = (length: number) => {
    const lines = [`max-rules:${length}`];
    for (let id = 0; id < length - 1; id++) lines.push(`rule-set:${id}`, `default jump-rule:${id + 1}`);
    lines.push(`rule-set:${length - 1}`, 'default jump-unix:/end.sock');
    return parseClassicConfig(lines.join('\n'), 'chain.conf');
  };
  const rng = new Rng(SEED ^ 1);
  for (const [length, kind] of [
    [99, 'unix'],
    [100, 'unix'],
    [101, 'loop'],
    [150, 'loop'],
  ] as const) {
    const config = chain(length);
    const table = compileTable(config, { pathSubstitution: false }).bytes;
    const tally = newTally();
    for (let k = 0; k < 20; k++) {
      const expected = checkTuple(tally, `chain ${length}`, config, table, rng.bytes(36));
      t.equal(expected.kind, kind, `chain of ${length} sets: reference says ${kind}`);
    }
    t.same(tally.mismatches, [], `chain of ${length} sets: native agrees`);
  }
});

t.test('hand-written configs covering each kind of match', async (t) => {
  const config = parseClassicConfig(
    [
      'max-rules:3 max-maps:2',
      'rule-set:0 size:6',
      'ip:::ffff:10.0.0.0/112 port:22 jump-unix:@ssh',
      'rip:2001:db8::/ffff:ffff:0:ffff:: jump-map:0',
      'ip:fe80::1 rip:fe80::2 rport:4000 jump-fd:3',
      'rport:1 jump-rule:0',
      'port:2 jump-rule:1',
      'port:3',
      'default jump-map:1',
      'rule-set:1 size:1',
      'ip:::/0 port:2 jump-rule:2',
      'default fail',
      'map-set:0 size:2 match-rip:48 match-lport',
      'rip:2001:db8:7::1 port:80 jump-unix:/run/web.sock',
      'rip:2001:db8:7:: port:81 jump-fd:4',
      'map-set:1 size:3 match-lip:128 match-rport',
      'ip:::ffff:192.0.2.1 rport:0 jump-fd:5',
      'ip:::ffff:192.0.2.1 rport:1 jump-rule:1',
      'ip:::ffff:192.0.2.2 jump-unix:/two',
      'default jump-rule:0',
    ].join('\n'),
    'hand.conf',
  );
  const table = compileTable(config, { pathSubstitution: false }).bytes;
  const tally = newTally();
  const tuple = tupleFromAddresses;
  const cases: Array<[Uint8Array, LookupResult]> = [
    [tuple('10.0.0.9', 22, '1.2.3.4', 5), { kind: 'unix', path: '@ssh' }],
    // No rule hits; map 1 has no key for it and its default jumps back to rule set 0.
    [tuple('10.1.0.9', 22, '1.2.3.4', 5), { kind: 'loop' }],
    [tuple('::1', 80, '2001:db8:7:0:99::1', 5), { kind: 'unix', path: '/run/web.sock' }],
    [tuple('::1', 81, '2001:db8:7:0:1::', 5), { kind: 'fd', fd: 4 }],
    [tuple('::1', 82, '2001:db8:7::1', 5), { kind: 'no_match' }],
    [tuple('::1', 80, '2001:db8:8::1', 5), { kind: 'no_match' }],
    [tuple('fe80::1', 9, 'fe80::2', 4000), { kind: 'fd', fd: 3 }],
    [tuple('::1', 9, '::2', 1), { kind: 'loop' }],
    // rule set 1 sends it to rule set 2, which was never declared: empty, "no match".
    [tuple('::1', 2, '::2', 9), { kind: 'no_match' }],
    [tuple('::1', 3, '::2', 9), { kind: 'fail' }],
    [tuple('192.0.2.1', 9, '::2', 0), { kind: 'fd', fd: 5 }],
    [tuple('192.0.2.2', 9, '::2', 0), { kind: 'unix', path: '/two' }],
    [tuple('192.0.2.2', 9, '::2', 1), { kind: 'loop' }],
  ];
  for (const [tup, want] of cases) {
    const got = checkTuple(tally, 'hand', config, table, tup);
    t.same(got, want, `reference: ${hex(tup)}`);
  }
  t.same(tally.mismatches, [], 'native agrees on every hand-written case');
});
