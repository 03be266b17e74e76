/**
 * The native table loader (native/server/table.c) must reject every corrupt
 * table with a reason and never crash or read out of bounds: random buffers,
 * truncations, single-byte and single-u32 mutations at every offset, and
 * targeted out-of-range fields whose specific reason is asserted.
 *
 * Every mutated table the loader accepts is also looked up: the native answer
 * must be well formed and agree with an independent byte-level interpreter of
 * docs/table-format.md. Accept/reject decisions are compared with an
 * independent validator written from the same document.
 */
import t, { Test } from 'tap';
import { serverAddon, NativeDecision } from '../src/native/server-addon';
import { compileSingleTarget, encodeAction } from '../src/table/compile';
import { Rng } from './helpers/rng';
import { HEADER, HEADER_SIZE, TABLE_MAGIC } from '../testkit/table-layout';
import { compileClassic, noRuleSetsTable, rulesAndMapTable, singleFdTargetTable, singleUnixTargetTable } from '../testkit/table-fixtures';

const SEED = 0xc0ffee11;
const addon = serverAddon();

/** Every reason skbox_table_load can give. */
const REASONS = new Set([
  'table shorter than its header',
  'bad table magic',
  'unsupported table version',
  'table size does not match its header',
  'reserved header bytes are not zero',
  'unknown table flags',
  'table counts out of range',
  'table section out of bounds',
  'start set out of range',
  'listener start set out of range',
  'target slot out of range',
  'target has unknown flags',
  'target descriptor out of range',
  'target path length out of range',
  'target path outside the string area',
  'target path contains a NUL byte',
  'unknown target kind',
  'entry has an invalid action',
  'unknown set kind',
  'set entry range out of bounds',
  'set has an invalid default action',
  'rule pattern has bits outside its mask',
  'map key has bits outside the map mask',
  'map keys are not strictly ascending',
]);

// ---- an independent reading of docs/table-format.md ----

type Decision = { kind: 'target'; target: number } | { kind: 'fail' | 'no_match' | 'loop' };

/** True when the documented rules hold (the checks the loader promises to make). */
function docValid(buf: Buffer): boolean {
  if (buf.length < 64) return false;
  const u = (at: number) => buf.readUInt32LE(at);
  if (u(HEADER.magic) !== TABLE_MAGIC || u(HEADER.version) !== 1 || u(HEADER.totalSize) !== buf.length || u(HEADER.flags) !== 0) return false;
  for (let i = 60; i < 64; i++) if (buf[i] !== 0) return false;
  const nSets = u(HEADER.nSets);
  const nEntries = u(HEADER.nEntries);
  const nTargets = u(HEADER.nTargets);
  if (nSets > 2000 || nEntries > 2_000_000 || nTargets > 2_002_000) return false;
  const fits = (off: number, count: number, size: number) => off % 4 === 0 && off <= buf.length && count * size <= buf.length - off;
  if (!fits(u(HEADER.setsOff), nSets, 52) || !fits(u(HEADER.entriesOff), nEntries, 76)) return false;
  if (!fits(u(HEADER.targetsOff), nTargets, 16) || !fits(u(HEADER.stringsOff), u(HEADER.stringsSize), 1)) return false;
  const start = u(HEADER.startSet);
  if (start !== 0xffffffff && start >= nSets) return false;
  // Listener start sets (JSON configs): n at 52, their offset at 56.
  const nStarts = u(HEADER.nListenerStarts);
  if (nStarts > 4096 || !fits(u(HEADER.listenerStartsOff), nStarts, 4)) return false;
  for (let i = 0; i < nStarts; i++) {
    const s = u(u(HEADER.listenerStartsOff) + 4 * i);
    if (s !== 0xffffffff && s >= nSets) return false;
  }
  const actionOk = (a: number) => {
    const kind = a >>> 24;
    const arg = a & 0xffffff;
    if (kind === 0 || kind === 3) return arg === 0;
    if (kind === 1) return arg < nSets;
    if (kind === 2) return arg < nTargets;
    return false;
  };
  const stringsOff = u(HEADER.stringsOff);
  const stringsSize = u(HEADER.stringsSize);
  for (let i = 0; i < nTargets; i++) {
    const at = u(HEADER.targetsOff) + 16 * i;
    const [kind, flags, a, b] = [u(at), u(at + 4), u(at + 8), u(at + 12)];
    if ((flags & ~3) !== 0) return false;
    if (kind === 3) {
      if (a >= 65536 || b !== 0 || flags !== 0) return false;
    } else if (kind === 2) {
      if (a > 0x7fffffff || b !== 0) return false;
    } else if (kind === 1) {
      if (b < 1 || b > 107 || a + b > stringsSize) return false;
      if (buf.subarray(stringsOff + a, stringsOff + a + b).includes(0)) return false;
    } else {
      return false;
    }
  }
  const entriesOff = u(HEADER.entriesOff);
  for (let i = 0; i < nEntries; i++) if (!actionOk(u(entriesOff + 76 * i + 72))) return false;
  for (let i = 0; i < nSets; i++) {
    const at = u(HEADER.setsOff) + 52 * i;
    const [kind, first, n, dflt] = [u(at), u(at + 4), u(at + 8), u(at + 12)];
    if (kind !== 1 && kind !== 2) return false;
    if (first + n > nEntries) return false;
    if (!actionOk(dflt)) return false;
    for (let k = 0; k < n; k++) {
      const e = entriesOff + 76 * (first + k);
      const mask = kind === 1 ? buf.subarray(e + 36, e + 72) : buf.subarray(at + 16, at + 52);
      for (let b = 0; b < 36; b++) if ((buf[e + b] & mask[b]) !== buf[e + b]) return false;
      if (kind === 2 && k > 0 && Buffer.compare(buf.subarray(e - 76, e - 40), buf.subarray(e, e + 36)) >= 0) return false;
    }
  }
  return true;
}

/** The lookup from the bytes of a table docValid accepted. */
function docLookup(buf: Buffer, tuple: Buffer): Decision {
  const u = (at: number) => buf.readUInt32LE(at);
  let set = u(HEADER.startSet);
  if (set === 0xffffffff) return { kind: 'no_match' };
  for (let step = 0; step < 100; step++) {
    const at = u(HEADER.setsOff) + 52 * set;
    const [kind, first, n] = [u(at), u(at + 4), u(at + 8)];
    let action = u(at + 12);
    for (let k = 0; k < n; k++) {
      const e = u(HEADER.entriesOff) + 76 * (first + k);
      let hit = true;
      for (let b = 0; b < 36 && hit; b++) {
        const mask = kind === 1 ? buf[e + 36 + b] : buf[at + 16 + b];
        hit = (tuple[b] & mask) === buf[e + b];
      }
      if (hit) {
        action = u(e + 72);
        break;
      }
    }
    const arg = action & 0xffffff;
    switch (action >>> 24) {
      case 1:
        set = arg;
        continue;
      case 2:
        return { kind: 'target', target: arg };
      case 0:
        return { kind: 'fail' };
      default:
        return { kind: 'no_match' };
    }
  }
  return { kind: 'loop' };
}

// ---- the valid tables everything starts from ----

/** Sets 0,1 rule sets, set 2 a map; targets 0 /run/a.sock, 1 fd 7, 2 @abstract. */
const TARGETED_BASE = rulesAndMapTable('/run/a.sock');

function largerConfig(): Buffer {
  const lines = ['max-rules:4', 'max-maps:3'];
  lines.push('rule-set:0 size:30');
  for (let i = 0; i < 12; i++) lines.push(`ip:2001:db8:${i}::/${48 + i} rport:${1000 + i} jump-unix:/run/r${i % 5}.sock`);
  for (let i = 0; i < 6; i++) lines.push(`rip:::ffff:10.${i}.0.0/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff0${i} jump-fd:${10 + i}`);
  lines.push('port:1 jump-map:0', 'port:2 jump-map:1', 'port:3 jump-map:2', 'port:4 jump-rule:1', 'port:5 fail');
  lines.push('default jump-rule:3');
  lines.push('rule-set:1 size:2', 'rport:9 jump-rule:0', 'default jump-rule:2');
  lines.push('rule-set:2 size:2', 'ip:::/0 jump-rule:1');
  lines.push('map-set:0 size:20 match-lip:64 match-lport');
  for (let i = 0; i < 14; i++) lines.push(`ip:fd00:${i}:${i}:${i}:: port:${i} jump-${i % 3 === 0 ? 'fd:3' : i % 3 === 1 ? 'unix:@m' + i : 'map:1'}`);
  lines.push('default jump-unix:/' + 'x'.repeat(106));
  lines.push('map-set:1 size:10 match-rip:128 match-rport');
  for (let i = 0; i < 8; i++) lines.push(`rip:::ffff:192.0.2.${i} rport:${i} jump-${i % 2 ? 'fd:4' : 'rule:0'}`);
  lines.push('map-set:2 size:1', 'jump-fd:0');
  return compileClassic(lines, true);
}

const BASES: Array<[string, Buffer]> = [
  ['single unix target', singleUnixTargetTable()],
  ['single fd target', singleFdTargetTable()],
  ['no rule sets', noRuleSetsTable()],
  ['rules and a map', TARGETED_BASE],
  ['larger', largerConfig()],
];

// ---- running one input ----

interface Stats {
  inputs: number;
  accepted: number;
  lookups: number;
  problems: string[];
  reasons: Map<string, number>;
}

const newStats = (): Stats => ({ inputs: 0, accepted: 0, lookups: 0, problems: [], reasons: new Map() });

function problem(stats: Stats, text: string): void {
  if (stats.problems.length < 10) stats.problems.push(text);
  else stats.problems[9] = `${stats.problems[9].split(' [+')[0]} [+more]`;
}

/** Tuples for a table: random ones, and ones built from its own entry patterns. */
function tuplesFor(rng: Rng, buf: Buffer): Buffer[] {
  const tuples = [rng.bytes(36), rng.bytes(36)];
  const nEntries = buf.length >= 64 ? buf.readUInt32LE(HEADER.nEntries) : 0;
  const entriesOff = buf.length >= 64 ? buf.readUInt32LE(HEADER.entriesOff) : 0;
  if (nEntries > 0 && nEntries < 10_000) {
    for (let k = 0; k < 2; k++) {
      const e = entriesOff + 76 * rng.int(nEntries);
      if (e + 76 > buf.length) break;
      const noise = rng.bytes(36);
      const tuple = Buffer.alloc(36);
      for (let b = 0; b < 36; b++) tuple[b] = buf[e + b] | (noise[b] & ~buf[e + 36 + b]);
      tuples.push(tuple);
    }
  }
  return tuples;
}

const validDecision = (d: NativeDecision, nTargets: number) =>
  (d.kind === 'target' && Number.isInteger(d.target) && d.target! >= 0 && d.target! < nTargets) ||
  (d.kind !== 'target' && ['fail', 'no_match', 'loop'].includes(d.kind) && d.target === undefined);

/**
 * Validates one input and checks the outcome. Returns the reason (null = accepted).
 * `checkLookups`: also run lookups (on every accepted table; on some rejected ones).
 */
function tryTable(stats: Stats, rng: Rng, label: string, buf: Buffer, checkThrows = false): string | null {
  stats.inputs++;
  const reason = addon.tableValidate(buf);
  const expectedValid = docValid(buf);
  if (reason === null) {
    stats.accepted++;
    if (!expectedValid) problem(stats, `${label}: accepted, but breaks docs/table-format.md`);
    const nTargets = buf.readUInt32LE(HEADER.nTargets);
    for (const tuple of tuplesFor(rng, buf)) {
      stats.lookups++;
      const d = addon.tableLookup(buf, tuple);
      if (!validDecision(d, nTargets)) {
        problem(stats, `${label}: malformed decision ${JSON.stringify(d)}`);
        continue;
      }
      const want = docLookup(buf, tuple);
      if (JSON.stringify(want) !== JSON.stringify({ ...d })) {
        problem(stats, `${label}: tuple ${tuple.toString('hex')}: native ${JSON.stringify(d)}, documented ${JSON.stringify(want)}`);
      }
    }
    return null;
  }
  if (typeof reason !== 'string' || !REASONS.has(reason)) problem(stats, `${label}: unexpected reason ${JSON.stringify(reason)}`);
  if (expectedValid) problem(stats, `${label}: rejected (${reason}) but valid by docs/table-format.md`);
  stats.reasons.set(reason, (stats.reasons.get(reason) ?? 0) + 1);
  if (checkThrows) {
    try {
      addon.tableLookup(buf, rng.bytes(36));
      problem(stats, `${label}: tableLookup accepted a table tableValidate rejects (${reason})`);
    } catch (err) {
      if ((err as Error).message !== `invalid table: ${reason}`) problem(stats, `${label}: tableLookup threw ${(err as Error).message}`);
    }
  }
  return reason;
}

function report(t: Test, stats: Stats, what: string, seconds: number): void {
  t.same(stats.problems, [], `${what}: no problems`);
  const reasons = [...stats.reasons.entries()].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r}: ${n}`);
  t.comment(
    `${what}: ${stats.inputs} inputs (${stats.accepted} accepted, ${stats.lookups} lookups) in ${seconds.toFixed(2)} s; ${reasons.join('; ')}`,
  );
}

// ---- tests ----

let mutatedInputs = 0;

t.test('base tables are valid', async (t) => {
  for (const [name, buf] of BASES) {
    t.equal(addon.tableValidate(buf), null, `${name} (${buf.length} bytes) loads`);
    t.ok(docValid(buf), `${name} follows the documented rules`);
  }
});

/** buf with magic, version, its size and zero flags and reserved bytes: past the loader's first checks. */
function withPlausibleHeader(buf: Buffer): Buffer {
  buf.writeUInt32LE(TABLE_MAGIC, HEADER.magic);
  buf.writeUInt32LE(1, HEADER.version);
  buf.writeUInt32LE(buf.length, HEADER.totalSize);
  buf.writeUInt32LE(0, HEADER.flags);
  buf.fill(0, HEADER.startSet + 4, HEADER_SIZE);
  return buf;
}

t.test('random byte buffers', async (t) => {
  const rng = new Rng(SEED);
  const stats = newStats();
  const started = Date.now();
  for (let len = 0; len <= 200; len++) {
    for (let k = 0; k < 40; k++) {
      const buf = rng.bytes(len);
      const reason = tryTable(stats, rng, `random ${len}`, buf, k === 0);
      if (len < 64 && reason !== 'table shorter than its header') problem(stats, `random ${len}: ${reason}`);
    }
    // A plausible header over random contents gets past the first checks.
    if (len >= 64) {
      for (let k = 0; k < 40; k++) {
        const buf = withPlausibleHeader(rng.bytes(len));
        for (const field of [HEADER.nSets, HEADER.nEntries, HEADER.nTargets]) buf.writeUInt32LE(rng.int(4), field);
        for (const field of [HEADER.setsOff, HEADER.entriesOff, HEADER.targetsOff, HEADER.stringsOff]) buf.writeUInt32LE(4 * rng.int(len / 4 + 2), field);
        buf.writeUInt32LE(rng.int(len), HEADER.stringsSize);
        buf.writeUInt32LE(rng.pick([0, 1, 0xffffffff, rng.u32()]), HEADER.startSet);
        tryTable(stats, rng, `random header ${len}`, buf, k === 0);
      }
    }
  }
  for (const len of [4096, 65536, 1 << 20, 8 << 20]) {
    tryTable(stats, rng, `random ${len}`, rng.bytes(len), true);
    const buf = withPlausibleHeader(rng.bytes(len));
    tryTable(stats, rng, `large random with header ${len}`, buf, true);
    // Counts at and past the limits over a large, mostly empty buffer.
    for (const [field, value] of [
      [HEADER.nSets, 2000],
      [HEADER.nSets, 2001],
      [HEADER.nEntries, 2_000_000],
      [HEADER.nEntries, 2_000_001],
      [HEADER.nTargets, 2_002_000],
      [HEADER.nTargets, 2_002_001],
    ]) {
      const big = withPlausibleHeader(Buffer.alloc(len));
      big.writeUInt32LE(0xffffffff, HEADER.startSet);
      for (const off of [HEADER.setsOff, HEADER.entriesOff, HEADER.targetsOff, HEADER.stringsOff]) big.writeUInt32LE(64, off);
      big.writeUInt32LE(value, field);
      tryTable(stats, rng, `large ${len} field ${field} = ${value}`, big, true);
    }
  }
  report(t, stats, 'random buffers', (Date.now() - started) / 1000);
});

t.test('every truncation and extension of the base tables', async (t) => {
  const rng = new Rng(SEED + 1);
  const stats = newStats();
  const started = Date.now();
  for (const [name, base] of BASES) {
    for (let len = 0; len < base.length; len++) {
      const cut = Buffer.from(base.subarray(0, len));
      const reason = tryTable(stats, rng, `${name} cut to ${len}`, cut, len % 7 === 0);
      const want = len < 64 ? 'table shorter than its header' : 'table size does not match its header';
      if (reason !== want) problem(stats, `${name} cut to ${len}: ${reason}, expected ${want}`);
      if (len >= 64) {
        // The same cut with total_size fixed up: the last section no longer fits.
        cut.writeUInt32LE(len, HEADER.totalSize);
        const fixed = tryTable(stats, rng, `${name} cut to ${len}, size fixed`, cut, len % 7 === 0);
        if (fixed !== 'table section out of bounds') problem(stats, `${name} cut to ${len} with size fixed: ${fixed}`);
      }
    }
    for (let extra = 1; extra <= 16; extra++) {
      const longer = Buffer.concat([base, rng.bytes(extra)]);
      const reason = tryTable(stats, rng, `${name} + ${extra}`, longer);
      if (reason !== 'table size does not match its header') problem(stats, `${name} + ${extra} bytes: ${reason}`);
    }
  }
  mutatedInputs += stats.inputs;
  report(t, stats, 'truncations', (Date.now() - started) / 1000);
});

t.test('single-byte mutations at every offset', async (t) => {
  const rng = new Rng(SEED + 2);
  const stats = newStats();
  const started = Date.now();
  for (const [name, base] of BASES) {
    for (let at = 0; at < base.length; at++) {
      const old = base[at];
      const values = new Set([old ^ 0x01, old ^ 0x80, old ^ (1 << rng.int(8)), old ^ (1 + rng.int(255)), 0x00, 0xff, (old + 1) & 0xff, (old - 1) & 0xff]);
      values.delete(old);
      for (const value of values) {
        const buf = Buffer.from(base);
        buf[at] = value;
        tryTable(stats, rng, `${name} byte ${at} = 0x${value.toString(16)}`, buf, (at + value) % 11 === 0);
      }
    }
  }
  mutatedInputs += stats.inputs;
  report(t, stats, 'byte mutations', (Date.now() - started) / 1000);
});

t.test('single-u32 mutations at every offset', async (t) => {
  const rng = new Rng(SEED + 3);
  const stats = newStats();
  const started = Date.now();
  for (const [name, base] of BASES) {
    const nSets = base.readUInt32LE(HEADER.nSets);
    const nEntries = base.readUInt32LE(HEADER.nEntries);
    const nTargets = base.readUInt32LE(HEADER.nTargets);
    for (let at = 0; at + 4 <= base.length; at++) {
      const old = base.readUInt32LE(at);
      const values = new Set([
        0,
        1,
        4,
        0xffffffff,
        0x7fffffff,
        0x80000000,
        0x00ffffff,
        0x01000000,
        encodeAction(1, nSets),
        encodeAction(1, Math.max(0, nSets - 1)),
        encodeAction(2, nTargets),
        encodeAction(2, Math.max(0, nTargets - 1)),
        encodeAction(3, 0),
        encodeAction(0, 1),
        nEntries,
        nEntries + 1,
        base.length,
        base.length - 4,
        base.length + 4,
        (old + 1) >>> 0,
        (old - 1) >>> 0,
        (old + 4) >>> 0,
        (old ^ rng.u32()) >>> 0,
        rng.u32(),
      ]);
      values.delete(old);
      for (const value of values) {
        const buf = Buffer.from(base);
        buf.writeUInt32LE(value, at);
        tryTable(stats, rng, `${name} u32 at ${at} = 0x${value.toString(16)}`, buf, (at + value) % 13 === 0);
      }
    }
  }
  mutatedInputs += stats.inputs;
  report(t, stats, 'u32 mutations', (Date.now() - started) / 1000);
});

t.test('targeted corruptions give their specific reason', async (t) => {
  const base = TARGETED_BASE;
  const u = (at: number) => base.readUInt32LE(at);
  const setsOff = u(HEADER.setsOff);
  const entriesOff = u(HEADER.entriesOff);
  const targetsOff = u(HEADER.targetsOff);
  const stringsOff = u(HEADER.stringsOff);
  const stringsSize = u(HEADER.stringsSize);
  const nSets = u(HEADER.nSets);
  const nEntries = u(HEADER.nEntries);
  const nTargets = u(HEADER.nTargets);
  // The layout the cases below rely on.
  t.same([nSets, nEntries, nTargets, stringsSize], [3, 7, 3, 20]);
  const set = (i: number, field: number) => setsOff + 52 * i + field;
  const entry = (i: number, field: number) => entriesOff + 76 * i + field;
  const target = (i: number, field: number) => targetsOff + 16 * i + field;
  t.same(
    [0, 1, 2].map((i) => [u(set(i, 0)), u(set(i, 4)), u(set(i, 8))]),
    [
      [1, 0, 3],
      [1, 3, 1],
      [2, 4, 3],
    ],
  );
  t.same(
    [0, 1, 2].map((i) => [u(target(i, 0)), u(target(i, 8)), u(target(i, 12))]),
    [
      [1, 0, 11],
      [2, 7, 0],
      [1, 11, 9],
    ],
  );

  const rng = new Rng(SEED + 4);
  const stats = newStats();
  const expect = (name: string, want: string | null, patch: (buf: Buffer) => Buffer | void) => {
    const copy = Buffer.from(base);
    const buf = patch(copy) ?? copy;
    const reason = tryTable(stats, rng, name, buf, true);
    t.equal(reason, want, name);
  };
  const w32 = (at: number, v: number) => (buf: Buffer) => void buf.writeUInt32LE(v >>> 0, at);

  // Header.
  expect('bad magic', 'bad table magic', (b) => void (b[0] ^= 0x20));
  expect('magic byte-swapped', 'bad table magic', w32(HEADER.magic, 0x534b4254));
  expect('version 0', 'unsupported table version', w32(HEADER.version, 0));
  expect('version 2', 'unsupported table version', w32(HEADER.version, 2));
  expect('size + 4', 'table size does not match its header', w32(HEADER.totalSize, base.length + 4));
  expect('size - 4', 'table size does not match its header', w32(HEADER.totalSize, base.length - 4));
  expect('size 0', 'table size does not match its header', w32(HEADER.totalSize, 0));
  expect('buffer 4 bytes longer than its size', 'table size does not match its header', (b) => Buffer.concat([b, Buffer.alloc(4)]));
  expect('flags 1', 'unknown table flags', w32(HEADER.flags, 1));
  expect('flags top bit', 'unknown table flags', w32(HEADER.flags, 0x80000000));
  for (let i = 60; i < 64; i++) expect(`reserved byte ${i}`, 'reserved header bytes are not zero', (b) => void (b[i] = 1));
  // Listener start sets (JSON configs): the region must fit and name existing sets.
  expect('4097 listener starts', 'table section out of bounds', w32(52, 4097));
  expect('listener starts unaligned', 'table section out of bounds', (b) => void (b.writeUInt32LE(1, 52), b.writeUInt32LE(2, 56)));
  expect('listener starts past the end', 'table section out of bounds', (b) => void (b.writeUInt32LE(2, 52), b.writeUInt32LE(b.length - 4, 56)));
  expect('listener start = magic word', 'listener start set out of range', (b) => void (b.writeUInt32LE(1, 52), b.writeUInt32LE(0, 56)));
  expect('listener start = start set', null, (b) => void (b.writeUInt32LE(1, 52), b.writeUInt32LE(48, 56)));
  expect('2001 sets', 'table counts out of range', w32(HEADER.nSets, 2001));
  expect('0xffffffff sets', 'table counts out of range', w32(HEADER.nSets, 0xffffffff));
  expect('2000001 entries', 'table counts out of range', w32(HEADER.nEntries, 2_000_001));
  expect('2002001 targets', 'table counts out of range', w32(HEADER.nTargets, 2_002_001));
  expect('2000 sets do not fit', 'table section out of bounds', w32(HEADER.nSets, 2000));
  expect('sets offset unaligned', 'table section out of bounds', w32(HEADER.setsOff, setsOff + 2));
  expect('entries offset unaligned', 'table section out of bounds', w32(HEADER.entriesOff, entriesOff + 1));
  expect('targets offset past the end', 'table section out of bounds', w32(HEADER.targetsOff, base.length + 4));
  expect('strings offset 0xfffffffc', 'table section out of bounds', w32(HEADER.stringsOff, 0xfffffffc));
  expect('strings size one too many', 'table section out of bounds', w32(HEADER.stringsSize, stringsSize + 1));
  expect('strings size 0xffffffff', 'table section out of bounds', w32(HEADER.stringsSize, 0xffffffff));
  expect('entries run past the end', 'table section out of bounds', w32(HEADER.entriesOff, base.length - 4));
  expect('start set = n_sets', 'start set out of range', w32(HEADER.startSet, nSets));
  expect('start set 0xfffffffe', 'start set out of range', w32(HEADER.startSet, 0xfffffffe));
  expect('start set 0xffffffff (none)', null, w32(HEADER.startSet, 0xffffffff));
  {
    const none = Buffer.from(base);
    none.writeUInt32LE(0xffffffff, HEADER.startSet);
    t.same({ ...addon.tableLookup(none, rng.bytes(36)) }, { kind: 'no_match' }, 'no start set: no match');
  }

  // Actions.
  expect('entry jumps to set n_sets', 'entry has an invalid action', w32(entry(1, 72), encodeAction(1, nSets)));
  expect('entry jumps to set 0xffffff', 'entry has an invalid action', w32(entry(6, 72), encodeAction(1, 0xffffff)));
  expect('entry jumps to the last set', null, w32(entry(1, 72), encodeAction(1, nSets - 1)));
  expect('entry target n_targets', 'entry has an invalid action', w32(entry(0, 72), encodeAction(2, nTargets)));
  expect('entry target 0xffffff', 'entry has an invalid action', w32(entry(0, 72), encodeAction(2, 0xffffff)));
  expect('entry action kind 4', 'entry has an invalid action', w32(entry(0, 72), encodeAction(4, 0)));
  expect('entry action kind 0xff', 'entry has an invalid action', w32(entry(0, 72), 0xff000000));
  expect('fail with an argument', 'entry has an invalid action', w32(entry(0, 72), encodeAction(0, 1)));
  expect('no match with an argument', 'entry has an invalid action', w32(entry(0, 72), encodeAction(3, 5)));
  expect('default jumps to set n_sets', 'set has an invalid default action', w32(set(0, 12), encodeAction(1, nSets)));
  expect('default target n_targets', 'set has an invalid default action', w32(set(2, 12), encodeAction(2, nTargets)));
  expect('default kind 9', 'set has an invalid default action', w32(set(1, 12), encodeAction(9, 0)));

  // Set records.
  expect('set kind 0', 'unknown set kind', w32(set(1, 0), 0));
  expect('set kind 3', 'unknown set kind', w32(set(0, 0), 3));
  expect('first_entry 0xffffffff', 'set entry range out of bounds', w32(set(1, 4), 0xffffffff));
  expect('first_entry + n_entries wraps', 'set entry range out of bounds', (b) => {
    b.writeUInt32LE(1, set(0, 4));
    b.writeUInt32LE(0xffffffff, set(0, 8));
  });
  expect('n_entries 0xffffffff', 'set entry range out of bounds', w32(set(2, 8), 0xffffffff));
  expect('range one past the end', 'set entry range out of bounds', w32(set(2, 8), 4));
  expect('first_entry = n_entries with no entries', null, (b) => {
    b.writeUInt32LE(nEntries, set(1, 4));
    b.writeUInt32LE(0, set(1, 8));
  });

  // Target records.
  expect('path length 0', 'target path length out of range', w32(target(0, 12), 0));
  expect('path length 108', 'target path length out of range', w32(target(2, 12), 108));
  expect('path length 0xffffffff', 'target path length out of range', w32(target(0, 12), 0xffffffff));
  expect('path offset = strings size', 'target path outside the string area', w32(target(0, 8), stringsSize));
  expect('path offset 0xffffffff', 'target path outside the string area', w32(target(2, 8), 0xffffffff));
  expect('path offset + length wraps', 'target path outside the string area', (b) => {
    b.writeUInt32LE(0xfffffff8, target(0, 8));
    b.writeUInt32LE(16, target(0, 12));
  });
  expect('path one byte past the strings', 'target path outside the string area', w32(target(0, 8), stringsSize - 10));
  expect('path ending exactly at the strings end', null, w32(target(0, 8), stringsSize - 11));
  expect('NUL in a path', 'target path contains a NUL byte', (b) => void (b[stringsOff + 3] = 0));
  expect('NUL at a path end', 'target path contains a NUL byte', (b) => void (b[stringsOff + 19] = 0));
  expect('descriptor 0x80000000', 'target descriptor out of range', w32(target(1, 8), 0x80000000));
  expect('descriptor with b != 0', 'target descriptor out of range', w32(target(1, 12), 1));
  expect('descriptor 0x7fffffff', null, w32(target(1, 8), 0x7fffffff));
  expect('target kind 0', 'unknown target kind', w32(target(1, 0), 0));
  expect('target kind 4', 'unknown target kind', w32(target(0, 0), 4));
  // Kind 3, a registration slot: a < 65536, b = 0, no flags.
  expect('slot target over a path record', 'target slot out of range', w32(target(0, 0), 3));
  expect('slot 65535', null, (b) => void (b.writeUInt32LE(3, target(1, 0)), b.writeUInt32LE(65535, target(1, 8))));
  expect('slot 65536', 'target slot out of range', (b) => void (b.writeUInt32LE(3, target(1, 0)), b.writeUInt32LE(65536, target(1, 8))));
  expect('slot with flags', 'target slot out of range', (b) => void (b.writeUInt32LE(3, target(1, 0)), b.writeUInt32LE(0, target(1, 8)), b.writeUInt32LE(2, target(1, 4))));
  expect('target flags 4', 'target has unknown flags', w32(target(0, 4), 4));
  expect('target flags 0x80000000', 'target has unknown flags', w32(target(1, 4), 0x80000000));
  expect('target flags 3', null, w32(target(1, 4), 3));
  {
    // A 107-byte path loads; the same target claiming 108 bytes does not.
    const long = compileSingleTarget({ kind: 'unix', path: '/' + 'q'.repeat(106) }, { pathSubstitution: false }).bytes;
    t.equal(addon.tableValidate(long), null, '107-byte path loads');
    const longer = Buffer.from(long);
    longer.writeUInt32LE(108, longer.readUInt32LE(HEADER.targetsOff) + 12);
    t.equal(addon.tableValidate(longer), 'target path length out of range', '108-byte path is rejected');
  }

  // Entry contents.
  expect('rule pattern bit outside its mask', 'rule pattern has bits outside its mask', (b) => void (b[entry(0, 10)] |= 1));
  expect('rule mask bit cleared under a pattern bit', 'rule pattern has bits outside its mask', (b) => void (b[entry(0, 36)] = 0));
  expect('rule mask widened', null, (b) => void (b[entry(0, 36 + 10)] = 0xff));
  expect('map key bit outside the map mask', 'map key has bits outside the map mask', (b) => void (b[entry(4, 32)] = 1));
  expect('map mask narrowed under the keys', 'map key has bits outside the map mask', (b) => void (b[set(2, 16 + 15)] = 0));
  expect('map keys swapped', 'map keys are not strictly ascending', (b) => {
    const first = Buffer.from(b.subarray(entry(4, 0), entry(5, 0)));
    b.copy(b, entry(4, 0), entry(5, 0), entry(6, 0));
    first.copy(b, entry(5, 0));
  });
  expect('map key duplicated', 'map keys are not strictly ascending', (b) => void b.copy(b, entry(5, 0), entry(4, 0), entry(4, 36)));
  expect('last map key lowered below its predecessor', 'map keys are not strictly ascending', (b) => void (b[entry(6, 15)] = 0));

  mutatedInputs += stats.inputs;
  t.same(stats.problems, [], 'targeted cases: native and documented rules agree');
});

t.test('tableLookup argument checks', async (t) => {
  const base = TARGETED_BASE;
  t.throws(() => addon.tableLookup(base, Buffer.alloc(35)), /tuple must be 36 bytes/);
  t.throws(() => addon.tableLookup(base, Buffer.alloc(37)), /tuple must be 36 bytes/);
  t.throws(() => addon.tableLookup(Buffer.alloc(10), Buffer.alloc(36)), /invalid table: table shorter than its header/);
  t.throws(() => addon.tableValidate('not a buffer' as unknown as Buffer), TypeError);
  t.throws(() => addon.tableLookup(base, 'x' as unknown as Buffer), TypeError);
});

t.test('enough mutated inputs', async (t) => {
  t.ok(mutatedInputs >= 100_000, `${mutatedInputs} mutated inputs`);
});
