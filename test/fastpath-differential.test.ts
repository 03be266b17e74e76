/**
 * Differential test of the kernel fast path (docs/fast-path.md): the BPF sk_lookup program,
 * run with BPF_PROG_TEST_RUN on made-up connections, against the native lookup
 * (native/server/lookup.c) on the same compiled table. Random classic configs (rule sets,
 * maps under masks, jumps, defaults, fail, loops) and random JSON configs (incoming_socket,
 * so one start set per listener) are published to the program's maps exactly as socketbox
 * publishes them. For every tuple the program's decision must be the native one: the same
 * fail / no match / loop, and for a target slot the assignment to that slot's own socket
 * (checked by its socket cookie), or a pass when the slot has no listener. A connection to a
 * port socketbox does not listen on must be left alone. Every decision kind must occur often,
 * and the program must never answer "undecided" for a table within its limits; a table beyond
 * them must make it pass everything.
 */
import t, { type Test } from 'tap';
import { enterTestNetns } from '../testkit/netns';
import { parseClassicConfig } from '../src/config/classic-parser';
import { parseJsonConfig } from '../src/config/json-parser';
import { formatIPv6, prefixMask } from '../src/net/address';
import { serverAddon } from '../src/native/server-addon';
import { buildProductPath } from '../src/native/build-products';
import { compileTable } from '../src/table/compile';
import { compileJsonTable } from '../src/table/compile-json';
import { Rng } from './helpers/rng';
import { isIPv4Mapped } from '../testkit/ipv4-mapped';
import { headerField, TARGET_SLOT, targetOffset, targetRecord } from '../testkit/table-layout';

enterTestNetns([]);

const SEED = 0x5ab1e7;
const CLASSIC_CONFIGS = 250;
const JSON_CONFIGS = 80;
const TUPLES_PER_CONFIG = 250;
const MIN_PER_KIND = 200;
/** socketbox's listeners in this test: incoming_socket 0, 1, 2. */
const PORTS = [80, 443, 8080];
const PREFIXES = [0, 1, 8, 16, 48, 64, 96, 100, 104, 120, 127, 128];

const addon = serverAddon();
addon.fastpathStart(buildProductPath('bpfObject'));
const listeners = PORTS.map((port) => {
  const fd = addon.bindListener({ addr: Buffer.alloc(16), scopeId: 0, port, transparent: false, freebind: false, reuseaddr: true, reuseport: false });
  addon.listen(fd, 16);
  return fd;
});

// ---- random configs ----

interface Pools {
  addresses: Uint8Array[];
  ports: number[];
  keys: Array<{ key: Uint8Array; mask: Uint8Array }>;
}

function randomAddress(rng: Rng): Uint8Array {
  const a = new Uint8Array(16);
  if (rng.chance(0.35)) {
    a[10] = a[11] = 0xff;
    a.set([rng.pick([10, 127, 192]), rng.int(2), rng.int(3), rng.int(256)], 12);
  } else if (rng.chance(0.6)) {
    a.set([0x20, 0x01, 0x0d, 0xb8, 0, rng.int(2), 0, 0]);
    a[14] = rng.int(2);
    a[15] = rng.int(256);
  } else {
    a.set(rng.bytes(16));
  }
  return a;
}

function newPools(rng: Rng): Pools {
  const pools: Pools = { addresses: [], ports: [...PORTS], keys: [] };
  for (let i = rng.range(2, 6); i > 0; i--) pools.addresses.push(randomAddress(rng));
  for (let i = rng.range(1, 3); i > 0; i--) pools.ports.push(rng.int(65536));
  return pools;
}

/** ADDR, ADDR/LEN, or ADDR and a mask written as an address (mostly non-contiguous). */
function maskedAddress(rng: Rng, pools: Pools): { address: string; mask?: string } {
  const a = rng.chance(0.8) ? rng.pick(pools.addresses) : randomAddress(rng);
  const text = formatIPv6(a);
  const how = rng.int(3);
  if (how === 0) return { address: text };
  if (how === 1) return { address: `${text}/${rng.pick(PREFIXES)}` };
  return { address: text, mask: formatIPv6(Uint8Array.from(rng.bytes(16), (b) => (rng.chance(0.5) ? 0xff : b))) };
}

const classicAddress = (m: { address: string; mask?: string }): string => (m.mask ? `${m.address}/${m.mask}` : m.address);

/** l_ip (and l_mask) or r_ip (and r_mask) of a JSON entry. */
function jsonAddress(e: Record<string, unknown>, side: 'l' | 'r', m: { address: string; mask?: string }): void {
  e[`${side}_ip`] = m.address;
  if (m.mask) e[`${side}_mask`] = m.mask;
}

function mapMask(rng: Rng): { lip: number | null; rip: number | null; lport: boolean; rport: boolean; mask: Uint8Array } {
  const combo = rng.int(16);
  const lip = combo & 1 ? rng.pick([...PREFIXES, 128, 128]) : null;
  const rip = combo & 2 ? rng.pick([...PREFIXES, 128, 128]) : null;
  const mask = new Uint8Array(36);
  if (lip !== null) mask.set(prefixMask(lip), 0);
  if (rip !== null) mask.set(prefixMask(rip), 16);
  if (combo & 4) mask.fill(0xff, 32, 34);
  if (combo & 8) mask.fill(0xff, 34, 36);
  return { lip, rip, lport: (combo & 4) !== 0, rport: (combo & 8) !== 0, mask };
}

/** A map key: its fields under the mask, and the entry tokens that write it. */
function mapKey(rng: Rng, pools: Pools, mask: Uint8Array, fields: { lip: string; rip: string; lport: string; rport: string }): { key: Uint8Array; tokens: string[] } {
  const key = new Uint8Array(36);
  const tokens: string[] = [];
  const la = rng.pick(pools.addresses);
  const ra = rng.pick(pools.addresses);
  key.set(la, 0);
  key.set(ra, 16);
  tokens.push(`${fields.lip}${formatIPv6(la)}`, `${fields.rip}${formatIPv6(ra)}`);
  const lp = rng.pick(pools.ports);
  const rp = rng.pick(pools.ports);
  key[32] = lp >> 8;
  key[33] = lp & 0xff;
  key[34] = rp >> 8;
  key[35] = rp & 0xff;
  tokens.push(`${fields.lport}${lp}`, `${fields.rport}${rp}`);
  pools.keys.push({ key: Uint8Array.from(key), mask });
  return { key: Uint8Array.from(key, (b, i) => b & mask[i]), tokens };
}

function classicConfig(rng: Rng): { text: string; pools: Pools } {
  const pools = newPools(rng);
  const rules = rng.range(1, 5);
  const maps = rng.chance(0.2) ? 0 : rng.range(1, 3);
  const action = (): string => {
    const kind = rng.weighted({ unix: 40, rule: 18, map: maps ? 14 : 0, fail: 10 });
    if (kind === 'unix') return `jump-unix:/run/t${rng.int(8)}.sock`;
    if (kind === 'rule') return `jump-rule:${rng.int(rules)}`;
    if (kind === 'map') return `jump-map:${rng.int(maps)}`;
    return 'fail';
  };
  const lines = [`max-rules:${rules}`, ...(maps ? [`max-maps:${maps}`] : [])];
  for (let id = 0; id < rules; id++) {
    if (!rng.chance(0.9)) continue;
    lines.push(`rule-set:${id}`, 'size:20');
    for (let n = rng.int(9); n > 0; n--) {
      const tokens: string[] = [];
      if (rng.chance(0.55)) tokens.push(`ip:${classicAddress(maskedAddress(rng, pools))}`);
      if (rng.chance(0.4)) tokens.push(`rip:${classicAddress(maskedAddress(rng, pools))}`);
      if (rng.chance(0.4)) tokens.push(`port:${rng.pick(pools.ports)}`);
      if (rng.chance(0.2)) tokens.push(`rport:${rng.pick(pools.ports)}`);
      lines.push([...tokens, action()].join(' '));
    }
    if (rng.chance(0.6)) lines.push(`default ${action()}`);
  }
  for (let id = 0; id < maps; id++) {
    const m = mapMask(rng);
    lines.push(`map-set:${id}`, 'size:20');
    if (m.lip !== null) lines.push(`match-lip:${m.lip}`);
    if (m.rip !== null) lines.push(`match-rip:${m.rip}`);
    if (m.lport) lines.push('match-lport');
    if (m.rport) lines.push('match-rport');
    const seen = new Set<string>();
    for (let n = rng.int(10); n > 0; n--) {
      const { key, tokens } = mapKey(rng, pools, m.mask, { lip: 'ip:', rip: 'rip:', lport: 'port:', rport: 'rport:' });
      const k = Buffer.from(key).toString('hex');
      if (seen.has(k)) continue;
      seen.add(k);
      lines.push([...tokens, action()].join(' '));
    }
    if (rng.chance(0.6)) lines.push(`default ${action()}`);
  }
  return { text: lines.join('\n') + '\n', pools };
}

function jsonConfig(rng: Rng): { text: string; pools: Pools } {
  const pools = newPools(rng);
  const names = ['_start', 'a', 'b', 'm'];
  const jump = (): string => (rng.chance(0.65) ? `o:${rng.int(8)}` : `r:${rng.pick(names)}`);
  const ruleEntry = (): Record<string, unknown> => {
    const e: Record<string, unknown> = { jump: jump() };
    if (rng.chance(0.5)) jsonAddress(e, 'l', maskedAddress(rng, pools));
    if (rng.chance(0.35)) jsonAddress(e, 'r', maskedAddress(rng, pools));
    if (rng.chance(0.3)) e.l_port = rng.pick(pools.ports);
    if (rng.chance(0.4)) e.incoming_socket = rng.int(PORTS.length + 1);
    return e;
  };
  const sets: Record<string, unknown> = {};
  for (const name of ['_start', 'a', 'b']) sets[name] = { type: 'rule', rules: Array.from({ length: rng.int(7) }, ruleEntry) };
  const m = mapMask(rng);
  const mask: Record<string, unknown> = { incoming_socket: 0 };
  if (m.lip !== null) mask.l_ip = `::/${m.lip}`;
  if (m.rip !== null) mask.r_ip = `::/${m.rip}`;
  if (m.lport) mask.l_port = 0;
  if (m.rport) mask.r_port = 0;
  const seen = new Set<string>();
  const entries: Array<Record<string, unknown>> = [];
  for (let n = rng.int(10); n > 0; n--) {
    const listener = rng.int(PORTS.length);
    const { key, tokens } = mapKey(rng, pools, m.mask, { lip: 'l_ip=', rip: 'r_ip=', lport: 'l_port=', rport: 'r_port=' });
    const k = `${listener}:${Buffer.from(key).toString('hex')}`;
    if (seen.has(k)) continue;
    seen.add(k);
    const e: Record<string, unknown> = { jump: jump(), incoming_socket: listener };
    for (const tok of tokens) {
      const [field, value] = tok.split('=');
      e[field] = field.endsWith('port') ? Number(value) : value;
    }
    entries.push(e);
  }
  sets.m = { type: 'map', mask, rules: entries };
  return {
    text: JSON.stringify({
      'socketbox-version': 1,
      incoming: PORTS.map((port) => ({ address: '::', port })),
      paths: [{ socket: '/run/api.sock' }],
      outgoing: Array.from({ length: 8 }, () => ({ uid: 0, path_nr: 0 })),
      rules: sets,
    }),
    pools,
  };
}

// ---- tuples biased towards the config's addresses, ports and map keys ----

function tupleAddress(rng: Rng, pools: Pools): Uint8Array {
  const a = Uint8Array.from(rng.chance(0.8) ? rng.pick(pools.addresses) : randomAddress(rng));
  if (rng.chance(0.2)) a[rng.int(16)] ^= 1 << rng.int(8);
  return a;
}

function randomTuple(rng: Rng, pools: Pools): Buffer {
  const tuple = Buffer.alloc(36);
  if (pools.keys.length > 0 && rng.chance(0.3)) {
    const { key, mask } = rng.pick(pools.keys);
    const noise = rng.bytes(36);
    for (let i = 0; i < 36; i++) tuple[i] = (key[i] & mask[i]) | (noise[i] & ~mask[i]);
  } else {
    tuple.set(tupleAddress(rng, pools), 0);
    tuple.set(tupleAddress(rng, pools), 16);
    tuple.writeUInt16BE(rng.pick(pools.ports), 34);
  }
  // Mostly socketbox's own ports; now and then another one, which the program must leave alone.
  tuple.writeUInt16BE(rng.chance(0.9) ? rng.pick(PORTS) : rng.int(65536), 32);
  return tuple;
}

// ---- the comparison ----

/** Every target of a compiled table becomes registration slot i (its index), as in a JSON table. */
function targetsAsSlots(table: Buffer): Buffer {
  const out = Buffer.from(table);
  for (let i = 0; i < headerField(out, 'nTargets'); i++) {
    const at = targetOffset(out, i);
    out.writeUInt32LE(TARGET_SLOT, at);
    out.writeUInt32LE(0, at + 4);
    out.writeUInt32LE(i, at + 8);
    out.writeUInt32LE(0, at + 12);
  }
  return out;
}

const kinds = new Map<string, number>();
let undecided = 0;

function compare(t: Test, table: Buffer, slotOf: (target: number) => number, pools: Pools, rng: Rng, label: string, text: string): boolean {
  if (!addon.fastpathPublish(table)) {
    t.fail(`${label}: beyond the program's limits:\n${text}`);
    return false;
  }
  // Listener-mode receivers for most slots; the others must pass to the accept loops.
  const cookies = new Map<number, bigint>();
  for (let slot = 0; slot < 8; slot++) if (rng.chance(0.75)) cookies.set(slot, addon.socketCookie(addon.fastpathOpenSlot(slot)));
  try {
    for (let i = 0; i < TUPLES_PER_CONFIG; i++) {
      const tuple = randomTuple(rng, pools);
      const listener = PORTS.indexOf(tuple.readUInt16BE(32));
      const ipv4 = isIPv4Mapped(tuple, 0) && isIPv4Mapped(tuple, 16) && rng.chance(0.5);
      const got = addon.fastpathTestRun(tuple, ipv4);
      let want: string;
      let cookie = 0n;
      if (listener < 0) {
        want = 'not_socketbox';
      } else {
        const native = addon.tableLookup(table, tuple, listener);
        if (native.kind !== 'target') want = native.kind;
        else {
          const slot = slotOf(native.target as number);
          want = cookies.has(slot) ? 'assigned' : 'not_listener_mode';
          cookie = cookies.get(slot) ?? 0n;
        }
      }
      if (got.decision === 'undecided') undecided++;
      kinds.set(want, (kinds.get(want) ?? 0) + 1);
      if (got.decision !== want || got.cookie !== cookie) {
        t.fail(`${label}: tuple ${tuple.toString('hex')} (listener ${listener}, ${ipv4 ? 'IPv4' : 'IPv6'}): program ${got.decision}/${got.cookie}, native ${want}/${cookie}; config:\n${text}`);
        return false;
      }
    }
  } finally {
    for (const slot of cookies.keys()) addon.fastpathCloseSlot(slot, false);
  }
  return true;
}

t.equal(addon.fastpathSetListeners(listeners), PORTS.length, 'the three listeners are in the program’s namespace');

t.test('random classic configs: the program decides every tuple as the native lookup', (t) => {
  const rng = new Rng(SEED);
  for (let c = 0; c < CLASSIC_CONFIGS; c++) {
    const { text, pools } = classicConfig(rng);
    const table = targetsAsSlots(compileTable(parseClassicConfig(text, `classic-${c}.conf`), { pathSubstitution: false }).bytes);
    if (!compare(t, table, (target) => target, pools, rng, `classic config ${c}`, text)) break;
  }
  t.pass(`${CLASSIC_CONFIGS} classic configs, ${TUPLES_PER_CONFIG} tuples each: the same decisions`);
  t.end();
});

t.test('random JSON configs with one start per listener: the same', (t) => {
  const rng = new Rng(SEED + 1);
  for (let c = 0; c < JSON_CONFIGS; c++) {
    const { text, pools } = jsonConfig(rng);
    const table = compileJsonTable(parseJsonConfig(text, `json-${c}.json`)).bytes;
    if (headerField(table, 'nListenerStarts') !== PORTS.length) t.fail(`json config ${c}: not one start set per listener`);
    const slotOfTarget = (target: number) => targetRecord(table, target).a;
    if (!compare(t, table, slotOfTarget, pools, rng, `json config ${c}`, text)) break;
  }
  t.pass(`${JSON_CONFIGS} JSON configs, ${TUPLES_PER_CONFIG} tuples each: the same decisions`);
  t.end();
});

t.test('every decision kind occurred often, and none was left undecided', (t) => {
  for (const kind of ['assigned', 'not_listener_mode', 'fail', 'no_match', 'loop', 'not_socketbox'])
    t.ok((kinds.get(kind) ?? 0) >= MIN_PER_KIND, `${kind}: ${kinds.get(kind) ?? 0} tuples`);
  t.equal(undecided, 0, 'no tuple undecided');
  t.end();
});

t.test('a table beyond the program’s limits: every connection passes to the accept loops', (t) => {
  const entries = Array.from({ length: 17000 }, (_, i) => `ip:2001:db8::${(i + 1).toString(16)} jump-unix:/run/a.sock`);
  const table = targetsAsSlots(compileTable(parseClassicConfig(['max-rules:1', 'rule-set:0', 'size:1000', ...entries.slice(0, 1000)].join('\n') + '\n', 'small.conf'), { pathSubstitution: false }).bytes);
  const big = ['max-rules:17', ...Array.from({ length: 17 }, (_, s) => [`rule-set:${s}`, 'size:1000', ...entries.slice(s * 1000, s * 1000 + 1000)]).flat()];
  const bigTable = targetsAsSlots(compileTable(parseClassicConfig(big.join('\n') + '\n', 'big.conf'), { pathSubstitution: false }).bytes);
  const cookie = addon.socketCookie(addon.fastpathOpenSlot(0));
  const tuple = Buffer.alloc(36);
  tuple.set([0x20, 0x01, 0x0d, 0xb8], 0);
  tuple[15] = 1;
  tuple.writeUInt16BE(80, 32);
  t.equal(addon.fastpathPublish(table), true, '1,000 rule entries: evaluated');
  t.same(addon.fastpathTestRun(tuple, false), { decision: 'assigned', cookie }, 'and assigned');
  t.equal(addon.fastpathPublish(bigTable), false, '17,000 rule entries: beyond the limit of 16,384');
  t.same(addon.fastpathTestRun(tuple, false), { decision: 'undecided', cookie: 0n }, 'passed, undecided');
  t.equal(addon.fastpathPublish(table), true, 'a smaller table again');
  t.same(addon.fastpathTestRun(tuple, false), { decision: 'assigned', cookie }, 'is evaluated again');
  addon.fastpathCloseSlot(0, false);
  t.end();
});
