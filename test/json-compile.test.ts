/**
 * The JSON config's compiled table (src/table/compile-json.ts): its layout
 * (per-listener start sets, slot targets), and a differential test of the
 * native lookup (`serverAddon().tableLookup(table, tuple, listener)`) against
 * jsonReferenceLookup on random JSON configs, random tuples and every listener.
 */
import t from 'tap';
import { parseJsonConfig } from '../src/config/json-parser';
import { JsonConfig } from '../src/config/json-model';
import { formatIPv6, prefixMask, tupleFromAddresses } from '../src/net/address';
import { NativeDecision, serverAddon } from '../src/native/server-addon';
import { compileJsonTable } from '../src/table/compile-json';
import { JsonLookupResult, jsonReferenceLookup } from '../src/table/json-reference-lookup';
import { Rng } from './helpers/rng';
import { isIPv4Mapped } from '../testkit/ipv4-mapped';
import { decidedTarget, headerField, SET_SIZE, TARGET_SLOT, targetRecord } from '../testkit/table-layout';

const SEED = 0x6a50c0de;
const RANDOM_CONFIGS = 400;
const TUPLES_PER_CONFIG = 300;
const MIN_PER_KIND = 300;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const addon = serverAddon();

// ---- reading the native decision back as a slot ----

function nativeResult(table: Buffer, decision: NativeDecision): JsonLookupResult | string {
  if (decision.kind !== 'target') return { kind: decision.kind };
  const target = decidedTarget(table, decision.target);
  if (typeof target === 'string') return target;
  if (target.kind !== TARGET_SLOT) return `target record ${decision.target} has kind ${target.kind}, not 3 (slot)`;
  return { kind: 'slot', slot: target.a };
}

function sameResult(a: JsonLookupResult | string, b: JsonLookupResult): boolean {
  if (typeof a === 'string' || a.kind !== b.kind) return false;
  return a.kind !== 'slot' || a.slot === (b as { slot: number }).slot;
}

// ---- random valid configs ----

interface Pools {
  addresses: Uint8Array[];
  ports: number[];
  /** Written map keys with their map's mask: tuples built from them hit the entry. */
  keys: Array<{ key: Uint8Array; mask: Uint8Array }>;
}

const SET_NAMES = ['a', 'b', 'web', 'm1', 'm2', 'with space', '\u00fcn\u00ef', 'r:x', '0'];
const PREFIXES = [0, 1, 8, 16, 48, 64, 65, 96, 100, 120, 127, 128];

function randomAddress(rng: Rng): Uint8Array {
  const bytes = new Uint8Array(16);
  switch (rng.int(4)) {
    case 0: // IPv4-mapped, from a small space
      bytes[10] = 0xff;
      bytes[11] = 0xff;
      bytes.set([rng.pick([10, 127, 192]), rng.pick([0, 168]), rng.int(3), rng.int(256)], 12);
      return bytes;
    case 1:
      bytes.set([0x20, 0x01, 0x0d, 0xb8, 0, rng.int(3), 0, rng.int(3)]);
      bytes[15] = rng.int(256);
      return bytes;
    case 2:
      return rng.bytes(16);
    default:
      if (rng.chance(0.5)) bytes[15] = 1;
      return bytes;
  }
}

/** Address text; a mapped address now and then as plain IPv4. */
function spell(rng: Rng, bytes: Uint8Array): string {
  if (isIPv4Mapped(bytes) && rng.chance(0.5)) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  return formatIPv6(bytes);
}

/** An address condition as JSON members, with the mask it stands for. */
function addressCondition(rng: Rng, pools: Pools, ipKey: string, maskKey: string): { members: Record<string, string>; address: Uint8Array; mask: Uint8Array } {
  const address = rng.chance(0.8) ? rng.pick(pools.addresses) : randomAddress(rng);
  pools.addresses.push(address);
  switch (rng.int(3)) {
    case 0:
      return { members: { [ipKey]: spell(rng, address) }, address, mask: prefixMask(128) };
    case 1: {
      // CIDR: an IPv4 text counts IPv4 bits.
      if (isIPv4Mapped(address) && rng.chance(0.5)) {
        const bits = rng.int(33);
        return { members: { [ipKey]: `${spell(rng, address).replace(/^::ffff:/, '')}/${bits}` }, address, mask: prefixMask(96 + bits) };
      }
      const bits = rng.pick(PREFIXES);
      return { members: { [ipKey]: `${formatIPv6(address)}/${bits}` }, address, mask: prefixMask(bits) };
    }
    default: {
      const mask = rng.chance(0.5) ? prefixMask(rng.pick(PREFIXES)) : Uint8Array.from(rng.bytes(16), (b) => (rng.chance(0.5) ? 0xff : rng.chance(0.5) ? 0 : b));
      return { members: { [ipKey]: spell(rng, address), [maskKey]: formatIPv6(mask) }, address, mask };
    }
  }
}

interface Shape {
  listeners: number;
  slots: number;
  names: string[];
}

function randomJump(rng: Rng, shape: Shape): string {
  return rng.chance(0.6) ? `o:${rng.int(shape.slots)}` : `r:${rng.pick(shape.names)}`;
}

/** A match object: random conditions; `condition` tells how likely each one is. */
function matchObject(rng: Rng, pools: Pools, condition: number, shape: Shape): { members: Record<string, unknown>; key: Uint8Array; mask: Uint8Array } {
  const members: Record<string, unknown> = {};
  const key = new Uint8Array(36);
  const mask = new Uint8Array(36);
  for (const [ipKey, maskKey, offset] of [
    ['l_ip', 'l_mask', 0],
    ['r_ip', 'r_mask', 16],
  ] as const) {
    if (!rng.chance(condition)) continue;
    const c = addressCondition(rng, pools, ipKey, maskKey);
    Object.assign(members, c.members);
    for (let i = 0; i < 16; i++) {
      key[offset + i] = c.address[i] & c.mask[i];
      mask[offset + i] = c.mask[i];
    }
  }
  for (const [portKey, offset] of [
    ['l_port', 32],
    ['r_port', 34],
  ] as const) {
    if (!rng.chance(condition)) continue;
    const port = rng.pick(pools.ports);
    members[portKey] = rng.chance(0.2) ? String(port) : port;
    key[offset] = port >> 8;
    key[offset + 1] = port & 0xff;
    mask.fill(0xff, offset, offset + 2);
  }
  // Now and then a listener beyond the configured ones: valid, never matches.
  if (rng.chance(0.2)) members.incoming_socket = rng.int(shape.listeners + 1);
  return { members, key, mask };
}

function ruleSet(rng: Rng, pools: Pools, shape: Shape): unknown {
  const rules = [];
  for (let n = rng.chance(0.1) ? 0 : rng.range(1, 8); n > 0; n--) {
    const { members } = matchObject(rng, pools, 0.45, shape);
    rules.push({ ...members, jump: randomJump(rng, shape) });
  }
  return { type: 'rule', rules };
}

function mapSet(rng: Rng, pools: Pools, shape: Shape): unknown {
  let mask: Uint8Array;
  let listenerMasked = false;
  const set: Record<string, unknown> = { type: 'map' };
  if (rng.chance(0.3)) {
    mask = new Uint8Array(36);
    mask.fill(0xff, 0, 16);
    mask.fill(0xff, 32, 34);
  } else {
    const m = matchObject(rng, pools, 0.5, shape);
    if ('incoming_socket' in m.members) listenerMasked = true;
    set.mask = m.members;
    mask = m.mask;
  }
  const seen = new Set<string>();
  const rules = [];
  for (let n = rng.chance(0.1) ? 0 : rng.range(1, 10), attempt = 0; rules.length < n && attempt < 3 * n; attempt++) {
    const { members, key } = matchObject(rng, pools, 0.8, shape);
    const masked = key.map((b, i) => b & mask[i]);
    const id = hex(masked) + (listenerMasked ? `/${(members.incoming_socket as number | undefined) ?? 0}` : '');
    if (seen.has(id)) continue; // the parser rejects duplicate keys: keep the config valid
    seen.add(id);
    pools.keys.push({ key, mask });
    rules.push({ ...members, jump: randomJump(rng, shape) });
  }
  set.rules = rules;
  return set;
}

function randomConfig(rng: Rng): { text: string; pools: Pools } {
  const pools: Pools = { addresses: [], ports: [] as number[], keys: [] };
  for (let i = rng.range(2, 5); i > 0; i--) pools.addresses.push(randomAddress(rng));
  for (let i = rng.range(2, 4); i > 0; i--) pools.ports.push(rng.chance(0.6) ? rng.pick([0, 22, 80, 443, 8080, 65535]) : rng.int(65536));
  const names = ['_start', ...rng.shuffle([...SET_NAMES]).slice(0, rng.int(5))];
  const shape: Shape = { listeners: rng.range(1, 4), slots: rng.range(1, 5), names };
  const incoming = Array.from({ length: shape.listeners }, (_, i) =>
    rng.chance(0.5) ? { fd: 3 + i } : { address: rng.pick(['::', '127.0.0.1', '2001:db8::1']), port: 8000 + i },
  );
  const outgoing = Array.from({ length: shape.slots }, (_, i) => ({ uid: 1000 + i, path_nr: 0 }));
  const rules: Record<string, unknown> = {};
  for (const name of rng.shuffle([...names])) rules[name] = rng.chance(0.55) ? ruleSet(rng, pools, shape) : mapSet(rng, pools, shape);
  const config = { 'socketbox-version': 1, incoming, paths: [{ socket: '/run/api.sock' }], outgoing, rules };
  return { text: JSON.stringify(config, null, rng.pick([undefined, 1, 2, '\t'])), pools };
}

// ---- tuples biased towards the config's own addresses, ports and keys ----

function tupleAddress(rng: Rng, pools: Pools): Uint8Array {
  if (rng.chance(0.6)) {
    const a = Uint8Array.from(rng.pick(pools.addresses));
    if (rng.chance(0.3)) a[rng.int(16)] ^= 1 << rng.int(8);
    return a;
  }
  return randomAddress(rng);
}

function randomTuple(rng: Rng, pools: Pools): Uint8Array {
  if (pools.keys.length > 0 && rng.chance(0.35)) {
    const { key, mask } = rng.pick(pools.keys);
    const noise = rng.bytes(36);
    const tuple = Uint8Array.from(key, (byte, i) => (byte & mask[i]) | (noise[i] & ~mask[i]));
    if (rng.chance(0.1)) tuple[rng.int(36)] ^= 1 << rng.int(8);
    return tuple;
  }
  const tuple = new Uint8Array(36);
  tuple.set(tupleAddress(rng, pools), 0);
  tuple.set(tupleAddress(rng, pools), 16);
  for (const offset of [32, 34]) {
    const port = rng.chance(0.7) ? rng.pick(pools.ports) : rng.int(65536);
    tuple[offset] = port >> 8;
    tuple[offset + 1] = port & 0xff;
  }
  return tuple;
}

// ---- the tests ----

interface Tally {
  counts: Record<JsonLookupResult['kind'], number>;
  lookups: number;
  specialized: number;
  /** Steps decided by an entry of a rule set / a map / a map keyed by listener. */
  ruleHits: number;
  mapHits: number;
  listenerMapHits: number;
  mismatches: string[];
}

function check(tally: Tally, label: string, config: JsonConfig, table: Buffer, tuple: Uint8Array, listener: number): JsonLookupResult {
  const { result, steps } = jsonReferenceLookup(config, tuple, listener);
  for (const step of steps) {
    const set = config.sets.get(step.set)!;
    if (step.line === null) continue;
    if (set.kind === 'rule') tally.ruleHits++;
    else if (set.listenerMasked) tally.listenerMapHits++;
    else tally.mapHits++;
  }
  const decision = addon.tableLookup(table, Buffer.from(tuple), listener);
  const actual = nativeResult(table, decision);
  tally.lookups++;
  tally.counts[result.kind]++;
  if (!sameResult(actual, result) && tally.mismatches.length < 5) {
    tally.mismatches.push(`${label}: tuple ${hex(tuple)} listener ${listener}: native ${JSON.stringify(decision)} -> ${JSON.stringify(actual)}, reference ${JSON.stringify(result)}`);
  }
  return result;
}

const newTally = (): Tally => ({ counts: { slot: 0, fail: 0, no_match: 0, loop: 0 }, lookups: 0, specialized: 0, ruleHits: 0, mapHits: 0, listenerMapHits: 0, mismatches: [] });

t.test('native lookup agrees with the JSON reference lookup on random configs', async (t) => {
  const rng = new Rng(SEED);
  const tally = newTally();
  const problems: string[] = [];
  for (let c = 0; c < RANDOM_CONFIGS; c++) {
    const { text, pools } = randomConfig(rng);
    let config: JsonConfig;
    try {
      config = parseJsonConfig(text, `random-${c}.json`);
    } catch (error) {
      problems.push(`config #${c}: ${(error as Error).message}\n${text}`);
      continue;
    }
    const table = compileJsonTable(config).bytes;
    const reason = addon.tableValidate(table);
    if (reason !== null) {
      problems.push(`config #${c}: the native loader rejects its table: ${reason}\n${text}`);
      continue;
    }
    if (headerField(table, 'nListenerStarts') > 0) tally.specialized++;
    const before = tally.mismatches.length;
    for (let k = 0; k < TUPLES_PER_CONFIG; k++) {
      const tuple = randomTuple(rng, pools);
      for (let listener = 0; listener < config.incoming.length; listener++) check(tally, `config #${c}`, config, table, tuple, listener);
    }
    if (tally.mismatches.length > before) tally.mismatches[before] += `\nconfig:\n${text}`;
  }
  t.same(problems.slice(0, 3), [], 'every generated config parses, compiles and loads');
  t.same(tally.mismatches, [], 'native and reference agree');
  t.ok(tally.lookups >= 200_000, `${tally.lookups} lookups checked`);
  for (const kind of ['slot', 'no_match', 'loop'] as const) {
    t.ok(tally.counts[kind] >= MIN_PER_KIND, `decision ${kind} produced ${tally.counts[kind]} times`);
  }
  t.ok(tally.ruleHits >= 10_000, `${tally.ruleHits} steps decided by a rule entry`);
  t.ok(tally.mapHits >= 10_000, `${tally.mapHits} steps decided by a map entry`);
  t.ok(tally.listenerMapHits >= 1_000, `${tally.listenerMapHits} steps decided by an entry of a map keyed by listener`);
  t.equal(tally.counts.fail, 0, 'a JSON config never fails: there is no fail action');
  t.ok(tally.specialized >= 50 && tally.specialized <= RANDOM_CONFIGS - 50, `${tally.specialized} configs compiled per listener`);
});

const base = (incoming: string, rules: string, slots = 4) =>
  `{"socketbox-version": 1, "incoming": ${incoming}, "paths": [{"socket": "@api"}], "outgoing": [${new Array(slots)
    .fill('{"uid": 0, "path_nr": 0}')
    .join(', ')}], "rules": ${rules}}`;

t.test('table layout: one copy of the sets, or one per listener', async (t) => {
  const single = parseJsonConfig(
    base('[{"fd": 3}, {"fd": 4}]', '{"m": {"type": "map", "rules": [{"l_ip": "::1", "l_port": 80, "jump": "o:2"}, {"l_ip": "::2", "l_port": 80, "jump": "o:2"}]}, "_start": {"type": "rule", "rules": [{"jump": "r:m"}]}}'),
    'single.json',
  );
  const compiledSingle = compileJsonTable(single);
  const table = compiledSingle.bytes;
  t.equal(addon.tableValidate(table), null);
  t.same(compiledSingle.targetNames, ['o:2'], "the target's name comes with the table");
  t.equal(headerField(table, 'nSets'), 2, 'n_sets');
  t.equal(headerField(table, 'startSet'), 1, 'start_set is _start, the second set written');
  t.same([headerField(table, 'nListenerStarts'), headerField(table, 'listenerStartsOff'), table.readUInt32LE(60)], [0, 0, 0], 'no listener starts');
  t.equal(headerField(table, 'nTargets'), 1, 'one target: o:2 twice is deduplicated');
  t.same(targetRecord(table, 0), { kind: 3, flags: 0, a: 2, b: 0 }, 'slot target record: kind 3, flags 0, a = slot, b = 0');
  t.equal(table.length, headerField(table, 'totalSize'));
  const setDefault = table.readUInt32LE(headerField(table, 'setsOff') + 12);
  t.equal(setDefault >>> 24, 3, 'a set without a matching entry means no match');

  const perListener = parseJsonConfig(
    base(
      '[{"fd": 3}, {"address": "::", "port": 80}, {"fd": 5}]',
      '{"_start": {"type": "rule", "rules": [{"incoming_socket": 1, "jump": "o:1"}, {"l_port": 443, "jump": "r:m"}, {"jump": "o:0"}]}, ' +
        '"m": {"type": "map", "mask": {"incoming_socket": 0, "l_port": 0}, "rules": [{"l_port": 443, "jump": "o:3"}, {"l_port": 443, "incoming_socket": 2, "jump": "o:2"}]}}',
    ),
    'per-listener.json',
  );
  const compiledPerListener = compileJsonTable(perListener);
  const specialized = compiledPerListener.bytes;
  t.equal(addon.tableValidate(specialized), null);
  const slotOfRecord = (i: number) => targetRecord(specialized, i).a;
  t.same(compiledPerListener.targetNames, ['o:0', 'o:3', 'o:1', 'o:2'], 'target names in record order, each slot once');
  t.same(compiledPerListener.targetNames, [0, 1, 2, 3].map((i) => `o:${slotOfRecord(i)}`), "each name is its record's slot");
  t.equal(headerField(specialized, 'nSets'), 6, 'two sets for each of three listeners');
  t.equal(headerField(specialized, 'startSet'), 0, "start_set is copy 0's _start");
  const n = headerField(specialized, 'nListenerStarts');
  const off = headerField(specialized, 'listenerStartsOff');
  t.equal(n, 3);
  t.equal(off, headerField(specialized, 'stringsOff') + headerField(specialized, 'stringsSize'), 'starts right after the string area');
  t.equal(off % 4, 0);
  t.same([0, 1, 2].map((i) => specialized.readUInt32LE(off + 4 * i)), [0, 2, 4]);
  t.equal(specialized.length, off + 12);
  // Entries per set: copy 1 keeps the incoming_socket entry, the others drop it; map copy i keeps key listener i.
  const entriesOf = (set: number) => specialized.readUInt32LE(headerField(specialized, 'setsOff') + SET_SIZE * set + 8);
  t.same([0, 1, 2, 3, 4, 5].map(entriesOf), [2, 1, 3, 0, 2, 1]);

  const tuple = (port: number) => tupleFromAddresses('::1', port, '::2', 9);
  const cases: Array<[number, number, JsonLookupResult]> = [
    [0, 80, { kind: 'slot', slot: 0 }],
    [1, 80, { kind: 'slot', slot: 1 }],
    [2, 80, { kind: 'slot', slot: 0 }],
    [0, 443, { kind: 'slot', slot: 3 }], // an entry without incoming_socket belongs to listener 0
    [1, 443, { kind: 'slot', slot: 1 }],
    [2, 443, { kind: 'slot', slot: 2 }],
  ];
  const tally = newTally();
  for (const [listener, port, want] of cases) {
    t.same(check(tally, 'hand', perListener, specialized, tuple(port), listener), want, `listener ${listener}, port ${port}`);
  }
  t.same(tally.mismatches, [], 'native agrees');
  const steps = jsonReferenceLookup(perListener, tuple(443), 2).steps;
  t.same(steps, [
    { set: '_start', line: 1, action: 'r:m' },
    { set: 'm', line: 1, action: 'o:2' },
  ]);
  t.throws(() => jsonReferenceLookup(perListener, tuple(80), 3), RangeError, 'no connection arrives on an unknown listener');
});

t.test('the step limit: 100 sets visited decide, a 101st is a loop', async (t) => {
  const chain = (length: number) => {
    const sets = ['"_start": {"type": "rule", "rules": [{"jump": "r:s1"}]}'];
    for (let i = 1; i < length - 1; i++) sets.push(`"s${i}": {"type": "rule", "rules": [{"jump": "r:s${i + 1}"}]}`);
    sets.push(`"s${length - 1}": {"type": "map", "mask": {}, "rules": [{"jump": "o:1"}]}`);
    return parseJsonConfig(base('[{"fd": 3}]', `{${sets.join(', ')}}`), 'chain.json');
  };
  const tally = newTally();
  for (const [length, kind] of [
    [99, 'slot'],
    [100, 'slot'],
    [101, 'loop'],
    [150, 'loop'],
  ] as const) {
    const config = chain(length);
    const table = compileJsonTable(config).bytes;
    const result = check(tally, `chain ${length}`, config, table, new Uint8Array(36), 0);
    t.equal(result.kind, kind, `a chain of ${length} sets: ${kind}`);
  }
  const self = parseJsonConfig(base('[{"fd": 3}]', '{"_start": {"type": "rule", "rules": [{"jump": "r:_start"}]}}'), 'self.json');
  const lookup = jsonReferenceLookup(self, new Uint8Array(36), 0);
  t.same([lookup.result.kind, lookup.steps.length], ['loop', 100]);
  check(tally, 'self', self, compileJsonTable(self).bytes, new Uint8Array(36), 0);
  t.same(tally.mismatches, [], 'native agrees');
});
