/**
 * Checks a JSON config (docs/config-json.md) and turns it into the JsonConfig model, or
 * throws a ConfigError pointing at the offending value or key. Semantics
 * follow the Python implementation of this format (its `rule_canon`), plus
 * two extensions: `ADDR/LEN` in `l_ip`/`r_ip`, and
 * `daemon.api_connections_per_uid`.
 */
import { ConfigError } from './config-error';
import { SourcePos, unixPathProblem } from './model';
import { JsonMember, JsonNode, JsonObjectNode, describeJsonKind, parseJsonText } from './json-text';
import {
  DEFAULT_API_CONNECTIONS_PER_UID,
  ID_UNCHANGED,
  JsonAction,
  JsonApiSocket,
  JsonConfig,
  JsonDaemon,
  JsonEntry,
  JsonId,
  JsonListener,
  JsonMapSet,
  JsonSet,
  JsonSlot,
  START_SET,
  TUPLE_SIZE,
  dispatchesByListener,
  jsonMapKey,
  jsonMapListener,
} from './json-model';
import { parseIPv4, parseIPv6, prefixMask } from '../net/address';
import { idNumber, MAX_ID } from './ids';

const MAX_FD = 0x7fffffff;
const MAX_BACKLOG = 65535;
const DEFAULT_BACKLOG = 4096;
const DEFAULT_MODE = 0o700;
const MAX_API_CONNECTIONS_PER_UID = 1000;
/** A slot number is 16 bits in the compiled table. */
const MAX_SLOTS = 65536;
/** The compiled table's limits (docs/table-format.md); checked here so compiling cannot fail. */
const TABLE_MAX_SETS = 2000;
const TABLE_MAX_ENTRIES = 2_000_000;

const TOP_KEYS = ['socketbox-version', 'incoming', 'paths', 'outgoing', 'daemon', 'final_netns', 'rules'];
const FD_LISTENER_KEYS = ['fd', 'listen', 'backlog'];
const BIND_LISTENER_KEYS = ['address', 'port', 'transparent', 'freebind', 'reuseaddr', 'reuseport', 'backlog', 'netns'];
const API_SOCKET_KEYS = ['socket', 'mode', 'uid', 'gid'];
const SLOT_KEYS = ['uid', 'path_nr'];
const DAEMON_KEYS = ['uid', 'gid', 'groups', 'chroot', 'api_connections_per_uid'];
const SET_KEYS = ['type', 'mask', 'rules'];
const MATCH_KEYS = ['l_ip', 'l_mask', 'r_ip', 'r_mask', 'l_port', 'r_port', 'incoming_socket'];
const ENTRY_KEYS = [...MATCH_KEYS, 'jump'];

/** An object's members by key; unknown keys have already been rejected. */
type Fields = ReadonlyMap<string, JsonMember>;

/** A match object in canonical form (the Python `rule_canon`). */
interface Canonical {
  pattern: Uint8Array;
  mask: Uint8Array;
  listener: number | null;
}

/** Keeps messages about huge values readable. */
function quote(text: string): string {
  return `'${text.length > 60 ? `${text.slice(0, 57)}...` : text}'`;
}

/** How a set is named in messages: `rules._start`, `rules["odd name"]`. */
function setPath(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(name) ? `rules.${name}` : `rules[${JSON.stringify(name.length > 60 ? `${name.slice(0, 57)}...` : name)}]`;
}

/** A value as shown in a message: numbers as written, strings quoted, others by type. */
function shown(node: JsonNode): string {
  if (node.kind === 'number') return quote(node.text);
  if (node.kind === 'string') return `the string ${quote(node.value)}`;
  return describeJsonKind(node);
}

/** IPv6 text, or IPv4 text taken as `::ffff:a.b.c.d`; null if neither. */
function parseAddress(text: string): { bytes: Uint8Array; ipv4: boolean } | null {
  const v6 = parseIPv6(text);
  if (v6 !== null) return { bytes: v6, ipv4: false };
  if (parseIPv4(text) === null) return null;
  return { bytes: parseIPv6(`::ffff:${text}`)!, ipv4: true };
}

class JsonConfigChecker {
  constructor(private readonly file: string) {}

  check(root: JsonNode): JsonConfig {
    if (root.kind !== 'object') this.fail(root, `a JSON config must be an object, not ${describeJsonKind(root)}`);
    const top = this.fields(root, 'the top-level object', TOP_KEYS);
    this.version(this.required(top, root, 'socketbox-version', 'the top-level object'));
    const incoming = this.incoming(this.required(top, root, 'incoming', 'the top-level object'));
    const paths = this.apiSockets(top.get('paths')?.value);
    const outgoing = this.slots(top.get('outgoing')?.value, paths.length);
    const daemon = this.daemon(top.get('daemon')?.value);
    const finalNetns = this.optional(top, 'final_netns', (node) => this.path(node, 'final_netns'));
    const sets = this.sets(this.required(top, root, 'rules', 'the top-level object'), incoming.length, outgoing.length);
    return { file: this.file, incoming, paths, outgoing, daemon, finalNetns, sets };
  }

  private fail(at: SourcePos, reason: string): never {
    throw new ConfigError(this.file, at.line, at.column, reason);
  }

  // ---- generic values ----

  private object(node: JsonNode, where: string): JsonObjectNode {
    if (node.kind !== 'object') this.fail(node, `${where} must be an object, not ${describeJsonKind(node)}`);
    return node;
  }

  private fields(node: JsonNode, where: string, allowed: readonly string[]): Fields {
    const fields = new Map<string, JsonMember>();
    for (const member of this.object(node, where).members) {
      if (!allowed.includes(member.key)) this.fail(member.keyAt, `unknown key ${quote(member.key)} in ${where}`);
      fields.set(member.key, member);
    }
    return fields;
  }

  private required(fields: Fields, owner: SourcePos, key: string, where: string): JsonNode {
    const member = fields.get(key);
    if (member === undefined) this.fail(owner, `missing key '${key}' in ${where}`);
    return member.value;
  }

  private optional<T>(fields: Fields, key: string, read: (node: JsonNode) => T): T | null {
    const member = fields.get(key);
    return member === undefined ? null : read(member.value);
  }

  private array(node: JsonNode, where: string): readonly JsonNode[] {
    if (node.kind !== 'array') this.fail(node, `${where} must be an array, not ${describeJsonKind(node)}`);
    return node.items;
  }

  private string(node: JsonNode, where: string): string {
    if (node.kind !== 'string') this.fail(node, `${where} must be a string, not ${shown(node)}`);
    return node.value;
  }

  /** Integers only as written without fraction or exponent (`1.0` is a float to the Python original). */
  private integer(node: JsonNode, where: string, min: number, max: number): number {
    if (node.kind !== 'number' || !/^-?[0-9]+$/.test(node.text)) this.fail(node, `${where} must be an integer, not ${shown(node)}`);
    if (node.value < min || node.value > max) this.fail(node, `${where} must be ${min}..${max}, not ${quote(node.text)}`);
    return node.value;
  }

  private boolean(node: JsonNode, where: string): boolean {
    if (node.kind !== 'boolean') this.fail(node, `${where} must be true or false, not ${shown(node)}`);
    return node.value;
  }

  private flag(fields: Fields, key: string, where: string, fallback: boolean): boolean {
    return this.optional(fields, key, (node) => this.boolean(node, `${where}.${key}`)) ?? fallback;
  }

  /** A filesystem path or netns path: non-empty, no NUL. */
  private path(node: JsonNode, where: string): string {
    const text = this.string(node, where);
    if (text.length === 0) this.fail(node, `${where} must not be empty`);
    if (text.includes('\0')) this.fail(node, `${where} contains a NUL character`);
    return text;
  }

  /** A port: an integer, or (as the original accepts) a string of decimal digits. */
  private port(node: JsonNode, where: string): number {
    if (node.kind === 'string') {
      if (!/^[0-9]+$/.test(node.value)) this.fail(node, `${where} must be a port number 0..65535, not ${shown(node)}`);
      const value = node.value.length > 6 ? Infinity : Number(node.value);
      if (value > 0xffff) this.fail(node, `${where} must be 0..65535, not ${quote(node.value)}`);
      return value;
    }
    return this.integer(node, where, 0, 0xffff);
  }

  /** A uid/gid: a number, or a name resolved when the server starts. */
  private id(node: JsonNode, where: string, allowUnchanged: boolean): JsonId {
    const min = allowUnchanged ? ID_UNCHANGED : 0;
    if (node.kind === 'string') {
      if (node.value.length === 0) this.fail(node, `${where} must not be an empty name`);
      if (node.value.includes('\0')) this.fail(node, `${where} contains a NUL character`);
      // Digits are a number, not a name: "4294967296" must meet the range check too.
      const n = idNumber(node.value);
      if (n === null) return node.value;
      if (!(Number.isInteger(n) && n >= min && n <= MAX_ID)) this.fail(node, `${where} must be ${min}..${MAX_ID}, not ${quote(node.value)}`);
      return n;
    }
    if (node.kind !== 'number') this.fail(node, `${where} must be a number or a name, not ${shown(node)}`);
    return this.integer(node, where, min, MAX_ID);
  }

  /** Where a value was written. */
  private at(node: JsonNode): SourcePos {
    return { line: node.line, column: node.column };
  }

  // ---- sections ----

  private version(node: JsonNode): void {
    if (node.kind !== 'number' || node.text !== '1') this.fail(node, `socketbox-version must be 1, not ${shown(node)}`);
  }

  private incoming(node: JsonNode): JsonListener[] {
    const items = this.array(node, 'incoming');
    if (items.length === 0) this.fail(node, 'incoming must list at least one listener');
    return items.map((item, index) => this.listener(item, index));
  }

  private listener(node: JsonNode, index: number): JsonListener {
    const where = `incoming[${index}]`;
    const object = this.object(node, where);
    const inherited = object.members.some((member) => member.key === 'fd');
    // A key of the other kind of listener deserves a clearer word than "unknown".
    for (const member of object.members) {
      if (inherited && BIND_LISTENER_KEYS.includes(member.key) && member.key !== 'backlog') {
        this.fail(member.keyAt, `'${member.key}' does not go with 'fd' in ${where}: a listener is either inherited or bound`);
      }
      if (!inherited && FD_LISTENER_KEYS.includes(member.key) && member.key !== 'backlog') {
        this.fail(member.keyAt, `'${member.key}' is only for inherited listeners ('fd') in ${where}`);
      }
    }
    const fields = this.fields(node, where, inherited ? FD_LISTENER_KEYS : BIND_LISTENER_KEYS);
    const at = { line: object.line, column: object.column };
    const backlog = this.optional(fields, 'backlog', (n) => this.integer(n, `${where}.backlog`, 1, MAX_BACKLOG)) ?? DEFAULT_BACKLOG;
    if (inherited) {
      const fd = this.integer(fields.get('fd')!.value, `${where}.fd`, 0, MAX_FD);
      return { kind: 'fd', index, at, backlog, fd, listen: this.flag(fields, 'listen', where, false) };
    }
    const addressNode = this.required(fields, object, 'address', where);
    const address = parseAddress(this.string(addressNode, `${where}.address`));
    if (address === null) this.fail(addressNode, `${where}.address: ${shown(addressNode)} is not an IPv6 or IPv4 address`);
    return {
      kind: 'bind',
      index,
      at,
      backlog,
      address: address.bytes,
      port: this.port(this.required(fields, object, 'port', where), `${where}.port`),
      transparent: this.flag(fields, 'transparent', where, false),
      freebind: this.flag(fields, 'freebind', where, false),
      reuseaddr: this.flag(fields, 'reuseaddr', where, true),
      reuseport: this.flag(fields, 'reuseport', where, false),
      netns: this.optional(fields, 'netns', (n) => this.path(n, `${where}.netns`)),
    };
  }

  private apiSockets(node: JsonNode | undefined): JsonApiSocket[] {
    if (node === undefined) return [];
    return this.array(node, 'paths').map((item, index) => {
      const where = `paths[${index}]`;
      const fields = this.fields(item, where, API_SOCKET_KEYS);
      const at = item as JsonObjectNode;
      const socketNode = this.required(fields, at, 'socket', where);
      const socket = this.string(socketNode, `${where}.socket`);
      const problem = unixPathProblem(socket);
      if (problem !== null) this.fail(socketNode, `${where}.socket: ${problem}`);
      return {
        index,
        at: { line: at.line, column: at.column },
        socket,
        mode: this.optional(fields, 'mode', (n) => this.mode(n, `${where}.mode`)) ?? DEFAULT_MODE,
        uid: this.optional(fields, 'uid', (n) => this.id(n, `${where}.uid`, true)) ?? ID_UNCHANGED,
        gid: this.optional(fields, 'gid', (n) => this.id(n, `${where}.gid`, true)) ?? ID_UNCHANGED,
      };
    });
  }

  /** Octal digits in a string, like chmod takes them: "700", "0660". */
  private mode(node: JsonNode, where: string): number {
    const text = this.string(node, where);
    if (!/^[0-7]+$/.test(text)) this.fail(node, `${where} must be octal digits like "0660", not ${quote(text)}`);
    const value = text.length > 12 ? Infinity : parseInt(text, 8);
    if (value > 0o7777) this.fail(node, `${where} must be at most "7777", not ${quote(text)}`);
    return value;
  }

  private slots(node: JsonNode | undefined, pathCount: number): JsonSlot[] {
    if (node === undefined) return [];
    const items = this.array(node, 'outgoing');
    if (items.length > MAX_SLOTS) this.fail(items[MAX_SLOTS], `too many slots: outgoing may hold at most ${MAX_SLOTS}`);
    return items.map((item, slot) => {
      const where = `outgoing[${slot}]`;
      const fields = this.fields(item, where, SLOT_KEYS);
      const at = item as JsonObjectNode;
      const uid = this.id(this.required(fields, at, 'uid', where), `${where}.uid`, false);
      const pathNode = this.required(fields, at, 'path_nr', where);
      const pathNr = this.integer(pathNode, `${where}.path_nr`, 0, MAX_FD);
      if (pathNr >= pathCount) {
        const have = pathCount === 0 ? 'there are no paths' : `paths has ${pathCount} (0..${pathCount - 1})`;
        this.fail(pathNode, `${where}.path_nr is ${pathNr}, but ${have}`);
      }
      return { slot, at: { line: at.line, column: at.column }, uid, pathNr };
    });
  }

  private daemon(node: JsonNode | undefined): JsonDaemon {
    if (node === undefined) {
      return {
        at: null,
        uid: null,
        gid: null,
        groups: null,
        idsAt: { uid: null, gid: null, groups: [] },
        chroot: null,
        apiConnectionsPerUid: DEFAULT_API_CONNECTIONS_PER_UID,
      };
    }
    const fields = this.fields(node, 'daemon', DAEMON_KEYS);
    const groups = (n: JsonNode) => this.array(n, 'daemon.groups').map((g, i) => this.id(g, `daemon.groups[${i}]`, false));
    const groupsNode = fields.get('groups')?.value;
    return {
      at: { line: node.line, column: node.column },
      uid: this.optional(fields, 'uid', (n) => this.id(n, 'daemon.uid', false)),
      gid: this.optional(fields, 'gid', (n) => this.id(n, 'daemon.gid', false)),
      groups: this.optional(fields, 'groups', groups),
      idsAt: {
        uid: this.optional(fields, 'uid', (n) => this.at(n)),
        gid: this.optional(fields, 'gid', (n) => this.at(n)),
        groups: groupsNode?.kind === 'array' ? groupsNode.items.map((g) => this.at(g)) : [],
      },
      chroot: this.optional(fields, 'chroot', (n) => this.path(n, 'daemon.chroot')),
      apiConnectionsPerUid:
        this.optional(fields, 'api_connections_per_uid', (n) =>
          this.integer(n, 'daemon.api_connections_per_uid', 1, MAX_API_CONNECTIONS_PER_UID),
        ) ?? DEFAULT_API_CONNECTIONS_PER_UID,
    };
  }

  // ---- rule sets and maps ----

  private sets(node: JsonNode, listenerCount: number, slotCount: number): Map<string, JsonSet> {
    const rules = this.object(node, 'rules');
    rules.members.forEach((member, i) => {
      if (member.key.length === 0) this.fail(member.keyAt, 'a set name must not be empty');
      if (i >= TABLE_MAX_SETS) this.fail(member.keyAt, `too many sets: rules may hold at most ${TABLE_MAX_SETS}`);
    });
    const names = new Set(rules.members.map((member) => member.key));
    if (!names.has(START_SET)) this.fail(rules, `rules has no '${START_SET}' set; every lookup starts there`);
    const sets = new Map<string, JsonSet>();
    for (const member of rules.members) sets.set(member.key, this.set(member, names, slotCount));
    this.checkTableSize(rules, sets, listenerCount);
    return sets;
  }

  /** With incoming_socket in use the table holds one copy of the sets per listener (docs/table-format.md). */
  private checkTableSize(rules: JsonObjectNode, sets: Map<string, JsonSet>, listenerCount: number): void {
    const copies = dispatchesByListener(sets.values()) ? listenerCount : 1;
    const entries = [...sets.values()].reduce((sum, set) => sum + set.entries.length, 0);
    const per = copies > 1 ? ` (incoming_socket is used, so each of the ${copies} listeners gets its own copy)` : '';
    if (sets.size * copies > TABLE_MAX_SETS) {
      this.fail(rules, `${sets.size * copies} sets to compile${per}; the limit is ${TABLE_MAX_SETS}`);
    }
    if (entries * copies > TABLE_MAX_ENTRIES) {
      this.fail(rules, `${entries * copies} entries to compile${per}; the limit is ${TABLE_MAX_ENTRIES}`);
    }
  }

  private set(member: JsonMember, names: ReadonlySet<string>, slotCount: number): JsonSet {
    const name = member.key;
    const where = setPath(name);
    const node = member.value;
    const fields = this.fields(node, where, SET_KEYS);
    const typeNode = this.required(fields, node, 'type', where);
    const type = this.string(typeNode, `${where}.type`);
    if (type !== 'rule' && type !== 'map') this.fail(typeNode, `${where}.type must be "rule" or "map", not ${quote(type)}`);
    const maskMember = fields.get('mask');
    if (type === 'rule' && maskMember) this.fail(maskMember.keyAt, `'mask' is only for maps; ${where} is a rule set`);
    const canonical = maskMember ? this.match(this.fields(maskMember.value, `${where}.mask`, MATCH_KEYS), `${where}.mask`) : null;
    const entries = this.array(this.required(fields, node, 'rules', where), `${where}.rules`).map((item, i) =>
      this.entry(item, `${where}.rules[${i}]`, names, slotCount),
    );
    const at = member.keyAt;
    if (type === 'rule') return { kind: 'rule', name, at, entries };
    const set: JsonMapSet = {
      kind: 'map',
      name,
      at,
      entries,
      mask: canonical ? canonical.mask : defaultMapMask(),
      listenerMasked: canonical !== null && canonical.listener !== null,
    };
    this.checkMapKeys(set, where);
    return set;
  }

  private checkMapKeys(set: JsonMapSet, where: string): void {
    const seen = new Map<string, number>();
    set.entries.forEach((entry, i) => {
      let key = Buffer.from(jsonMapKey(entry, set)).toString('hex');
      if (set.listenerMasked) key += `/${jsonMapListener(entry)}`;
      const first = seen.get(key);
      if (first !== undefined) {
        this.fail(entry.at, `${where}.rules[${i}] has the same key under the map's mask as rules[${first}] (line ${set.entries[first].at.line})`);
      }
      seen.set(key, i);
    });
  }

  private entry(node: JsonNode, where: string, names: ReadonlySet<string>, slotCount: number): JsonEntry {
    const fields = this.fields(node, where, ENTRY_KEYS);
    const object = node as JsonObjectNode;
    const { pattern, mask, listener } = this.match(fields, where);
    const action = this.action(this.required(fields, object, 'jump', where), `${where}.jump`, names, slotCount);
    return { at: { line: object.line, column: object.column }, pattern, mask, listener, action };
  }

  private action(node: JsonNode, where: string, names: ReadonlySet<string>, slotCount: number): JsonAction {
    const text = this.string(node, where);
    const at = { line: node.line, column: node.column };
    if (text.startsWith('r:')) {
      const set = text.slice(2);
      if (!names.has(set)) this.fail(node, `${where}: there is no set named ${quote(set)}`);
      return { kind: 'jump', set, at };
    }
    if (text.startsWith('o:')) {
      const digits = text.slice(2);
      if (!/^[0-9]+$/.test(digits)) this.fail(node, `${where}: 'o:' must be followed by a slot number, not ${quote(digits)}`);
      const slot = digits.length > 9 ? Infinity : Number(digits);
      if (slot >= slotCount) {
        const have = slotCount === 0 ? 'outgoing has no slots' : `outgoing has ${slotCount} (0..${slotCount - 1})`;
        this.fail(node, `${where}: there is no slot ${digits}; ${have}`);
      }
      return { kind: 'slot', slot, at };
    }
    this.fail(node, `${where} must be "r:SET" or "o:SLOT", not ${quote(text)}`);
  }

  /** A match object in canonical form: absent conditions are zero in both pattern and mask. */
  private match(fields: Fields, where: string): Canonical {
    const pattern = new Uint8Array(TUPLE_SIZE);
    const mask = new Uint8Array(TUPLE_SIZE);
    this.addressCondition(fields, 'l_ip', 'l_mask', where, pattern, mask, 0);
    this.addressCondition(fields, 'r_ip', 'r_mask', where, pattern, mask, 16);
    for (const [key, offset] of [
      ['l_port', 32],
      ['r_port', 34],
    ] as const) {
      const port = this.optional(fields, key, (n) => this.port(n, `${where}.${key}`));
      if (port === null) continue;
      pattern[offset] = port >> 8;
      pattern[offset + 1] = port & 0xff;
      mask.fill(0xff, offset, offset + 2);
    }
    const listener = this.optional(fields, 'incoming_socket', (n) => this.integer(n, `${where}.incoming_socket`, 0, MAX_FD));
    return { pattern, mask, listener };
  }

  private addressCondition(
    fields: Fields,
    ipKey: string,
    maskKey: string,
    where: string,
    pattern: Uint8Array,
    mask: Uint8Array,
    offset: number,
  ): void {
    const ip = fields.get(ipKey);
    const explicitMask = fields.get(maskKey);
    if (ip === undefined) {
      if (explicitMask) this.fail(explicitMask.keyAt, `${maskKey} without ${ipKey} in ${where}`);
      return;
    }
    const text = this.string(ip.value, `${where}.${ipKey}`);
    const slash = text.indexOf('/');
    const address = this.address(ip.value, slash < 0 ? text : text.slice(0, slash), `${where}.${ipKey}`);
    let bits: Uint8Array;
    if (slash >= 0) {
      if (explicitMask) this.fail(ip.value, `${where}.${ipKey} has a prefix length and ${maskKey} is given too; use one of them`);
      bits = this.prefix(ip.value, text.slice(slash + 1), address.ipv4, `${where}.${ipKey}`);
    } else if (explicitMask) {
      const maskText = this.string(explicitMask.value, `${where}.${maskKey}`);
      bits = this.address(explicitMask.value, maskText, `${where}.${maskKey}`).bytes;
    } else {
      bits = prefixMask(128);
    }
    for (let i = 0; i < 16; i++) {
      mask[offset + i] = bits[i];
      pattern[offset + i] = address.bytes[i] & bits[i];
    }
  }

  private address(node: JsonNode, text: string, where: string): { bytes: Uint8Array; ipv4: boolean } {
    const address = parseAddress(text);
    if (address === null) this.fail(node, `${where}: ${quote(text)} is not an IPv6 or IPv4 address`);
    return address;
  }

  /** `/LEN` after an address; an IPv4 length counts IPv4 bits (the mapped prefix adds 96). */
  private prefix(node: JsonNode, text: string, ipv4: boolean, where: string): Uint8Array {
    const max = ipv4 ? 32 : 128;
    if (!/^[0-9]{1,3}$/.test(text) || Number(text) > max) {
      this.fail(node, `${where}: the prefix length must be 0..${max}${ipv4 ? ' for IPv4' : ''}, not ${quote(text)}`);
    }
    return prefixMask(Number(text) + (ipv4 ? 96 : 0));
  }
}

/** A map without `mask`: the whole local address and the local port. */
function defaultMapMask(): Uint8Array {
  const mask = new Uint8Array(TUPLE_SIZE);
  mask.fill(0xff, 0, 16);
  mask.fill(0xff, 32, 34);
  return mask;
}

/** Parses and checks a JSON config; throws ConfigError(file, line, column, reason). */
export function parseJsonConfig(text: string, file: string): JsonConfig {
  return new JsonConfigChecker(file).check(parseJsonText(text, file));
}
