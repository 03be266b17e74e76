/**
 * Parser for the classic socketbox config format (docs/config-classic.md): turns text into
 * the checked model, or throws a ConfigError naming line, column and reason.
 * One pass over the tokens; the only checks deferred are those that depend on
 * something written later (a jump before its `max-*`, a map's `match-*` after
 * its entries).
 */
import { ConfigError } from './config-error';
import {
  Action,
  AddressMatch,
  ClassicConfig,
  Entry,
  MapMatch,
  MapSet,
  RuleSet,
  SourcePos,
  formatAction,
  mapEntryKey,
  mapMaskTuple,
  unixPathProblem,
} from './model';
import { Token, tokenizeConfig } from './tokenize';
import { parseIPv4, parseIPv6, prefixMask } from '../net/address';

const MAX_SETS = 1000;
const MAX_SET_SIZE = 1000;
const MAX_FD = 0x7fffffff;

const ENTRY_KEYS = new Set(['ip', 'rip', 'port', 'rport', 'jump-unix', 'jump-fd', 'jump-rule', 'jump-map', 'fail']);
const ACTION_KEYS = new Set(['jump-unix', 'jump-fd', 'jump-rule', 'jump-map', 'fail']);

type SetKind = 'rule' | 'map';

interface EntryDraft {
  at: SourcePos;
  local: AddressMatch | null;
  remote: AddressMatch | null;
  localPort: number | null;
  remotePort: number | null;
  action: Action | null;
}

interface MatchDraft {
  localPrefix: number | null;
  remotePrefix: number | null;
  localPort: boolean;
  remotePort: boolean;
  /** Position of each match-* token given, to report a repeat. */
  seen: Map<string, SourcePos>;
}

interface SetDraft {
  kind: SetKind;
  id: number;
  declaredAt: SourcePos;
  size: number | null;
  sizeAt: SourcePos | null;
  entries: EntryDraft[];
  defaultAction: Action | null;
  match: MatchDraft;
}

interface Declared {
  value: number;
  at: SourcePos;
}

/** A jump written before the `max-*` it must be checked against. */
interface PendingJump {
  token: Token;
  kind: SetKind;
  id: number;
}

const setWord = (kind: SetKind) => (kind === 'rule' ? 'rule set' : 'map');
const maxKey = (kind: SetKind) => (kind === 'rule' ? 'max-rules' : 'max-maps');

/** Keeps messages about huge tokens readable. */
function quote(text: string): string {
  return `'${text.length > 60 ? `${text.slice(0, 57)}...` : text}'`;
}

class ClassicParser {
  private readonly max: Record<SetKind, Declared | null> = { rule: null, map: null };
  private readonly sets: Record<SetKind, Map<number, SetDraft>> = { rule: new Map(), map: new Map() };
  private current: SetDraft | null = null;
  private pendingJumps: PendingJump[] = [];

  constructor(private readonly file: string) {}

  parse(text: string): ClassicConfig {
    for (const { tokens } of tokenizeConfig(text)) this.parseLine(tokens);
    this.closeCurrentSet();
    for (const jump of this.pendingJumps) this.checkJumpTarget(jump.token, jump.kind, jump.id);
    return this.build();
  }

  private fail(at: SourcePos, reason: string): never {
    throw new ConfigError(this.file, at.line, at.column, reason);
  }

  private parseLine(tokens: readonly Token[]): void {
    let entry: EntryDraft | null = null;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      if (ENTRY_KEYS.has(token.key)) {
        entry ??= this.startEntry(token);
        this.applyEntryToken(entry, token);
        continue;
      }
      switch (token.key) {
        case 'max-rules':
        case 'max-maps':
          this.declareMax(token, token.key === 'max-rules' ? 'rule' : 'map');
          break;
        case 'rule-set':
        case 'map-set':
          if (entry) this.fail(token, `${token.key}: after an entry token; choose the set before its entries`);
          this.openSet(token, token.key === 'rule-set' ? 'rule' : 'map');
          break;
        case 'size':
          this.setSize(token);
          break;
        case 'match-lip':
        case 'match-rip':
        case 'match-lport':
        case 'match-rport':
          this.setMapMatch(token);
          break;
        case 'default':
          if (entry) this.fail(token, 'default after an entry token; write it on a line of its own');
          this.setDefault(token, tokens[i + 1], tokens[i + 2]);
          i++; // the action token was consumed
          break;
        default:
          this.fail(
            token,
            token.text.startsWith('#')
              ? `unknown token ${quote(token.text)} (a comment must start in the first column)`
              : `unknown token ${quote(token.text)}`,
          );
      }
    }
    // The original's behaviour: an entry that names no action fails.
    if (entry) entry.action ??= { kind: 'fail', at: null };
  }

  // ---- values ----

  private requireValue(token: Token): string {
    if (token.value === null) this.fail(token, `${token.key} needs a value (${token.key}:...)`);
    return token.value;
  }

  private requireBare(token: Token): void {
    if (token.value !== null) this.fail(token, `${token.key} takes no value`);
  }

  /** Decimal digits only (no sign, prefix or junk), within [min, max]. */
  private decimal(token: Token, text: string, min: number, max: number, what: string): number {
    if (!/^[0-9]+$/.test(text)) {
      this.fail(token, `expected a decimal number after '${token.key}:', got ${quote(text)}`);
    }
    // Long digit strings are out of range anyway; avoid precision surprises.
    const significant = text.replace(/^0+(?=[0-9])/, '');
    const value = significant.length > 12 ? Number.POSITIVE_INFINITY : Number(significant);
    if (value < min || value > max) this.fail(token, `${what} must be ${min}..${max}, not ${quote(text)}`);
    return value;
  }

  private address(token: Token, text: string, maskText: string | null): Uint8Array {
    const bytes = parseIPv6(text);
    if (bytes !== null) return bytes;
    if (parseIPv4(text) !== null) {
      const length = maskText !== null && /^[0-9]{1,2}$/.test(maskText) ? Number(maskText) : null;
      const suggestion = length !== null && length <= 32 ? `::ffff:${text}/${96 + length}` : `::ffff:${text}`;
      this.fail(token, `IPv4 address ${quote(text)}: rules match IPv4 clients as mapped addresses; write ${quote(suggestion)}`);
    }
    if (text.includes('%')) this.fail(token, `zone ids are not allowed in rules: ${quote(text)}`);
    if (text.startsWith('[')) this.fail(token, `write the address without brackets: ${quote(text)}`);
    this.fail(token, `${quote(text)} is not an IPv6 address`);
  }

  /** `ADDR`, `ADDR/LEN` or `ADDR/MASKADDR` (rule sets); maps take a bare address. */
  private addressMatch(token: Token, inMap: boolean): AddressMatch {
    const value = this.requireValue(token);
    const slash = value.indexOf('/');
    const addressText = slash < 0 ? value : value.slice(0, slash);
    const maskText = slash < 0 ? null : value.slice(slash + 1);
    if (inMap && maskText !== null) {
      this.fail(token, "maps take a bare address; the map's mask comes from match-lip/match-rip");
    }
    const address = this.address(token, addressText, maskText);
    let mask: Uint8Array;
    if (maskText === null) {
      mask = prefixMask(128);
    } else if (maskText.includes(':')) {
      const parsed = parseIPv6(maskText);
      if (parsed === null) this.fail(token, `mask ${quote(maskText)} is not an IPv6 address`);
      mask = parsed;
    } else {
      mask = prefixMask(this.decimal(token, maskText, 0, 128, 'the prefix length'));
    }
    return { address, mask };
  }

  private action(token: Token): Action {
    const at: SourcePos = { line: token.line, column: token.column };
    switch (token.key) {
      case 'fail':
        this.requireBare(token);
        return { kind: 'fail', at };
      case 'jump-unix': {
        const path = this.requireValue(token);
        const problem = unixPathProblem(path);
        if (problem !== null) this.fail(token, problem);
        return { kind: 'unix', path, at };
      }
      case 'jump-fd':
        return { kind: 'fd', fd: this.decimal(token, this.requireValue(token), 0, MAX_FD, 'a descriptor number'), at };
      case 'jump-rule':
      case 'jump-map': {
        const kind: SetKind = token.key === 'jump-rule' ? 'rule' : 'map';
        const id = this.decimal(token, this.requireValue(token), 0, MAX_SETS - 1, `a ${setWord(kind)} id`);
        if (this.max[kind] !== null) this.checkJumpTarget(token, kind, id);
        else this.pendingJumps.push({ token, kind, id });
        return kind === 'rule' ? { kind: 'jump-rule', id, at } : { kind: 'jump-map', id, at };
      }
      default:
        throw new Error(`not an action: ${token.key}`); // unreachable: callers check ACTION_KEYS
    }
  }

  private checkJumpTarget(token: Token, kind: SetKind, id: number): void {
    const max = this.max[kind];
    if (max === null) this.fail(token, `${token.text}: no ${setWord(kind)} ${id} (${maxKey(kind)} not given)`);
    if (id >= max.value) this.fail(token, `${token.text}: no ${setWord(kind)} ${id} (${maxKey(kind)}:${max.value})`);
  }

  // ---- global and section tokens ----

  private declareMax(token: Token, kind: SetKind): void {
    const previous = this.max[kind];
    if (previous !== null) this.fail(token, `${token.key} given twice (first at line ${previous.at.line})`);
    const value = this.decimal(token, this.requireValue(token), 1, MAX_SETS, token.key);
    this.max[kind] = { value, at: { line: token.line, column: token.column } };
    // Jumps written earlier can be checked now, at their own positions.
    const [ready, waiting] = [
      this.pendingJumps.filter((jump) => jump.kind === kind),
      this.pendingJumps.filter((jump) => jump.kind !== kind),
    ];
    this.pendingJumps = waiting;
    for (const jump of ready) this.checkJumpTarget(jump.token, jump.kind, jump.id);
  }

  private openSet(token: Token, kind: SetKind): void {
    const max = this.max[kind];
    if (max === null) this.fail(token, `${token.text} before ${maxKey(kind)}`);
    const value = this.requireValue(token);
    const id = this.decimal(token, value, 0, MAX_SETS - 1, `a ${setWord(kind)} id`);
    if (id >= max.value) this.fail(token, `${token.text}: no ${setWord(kind)} ${id} (${maxKey(kind)}:${max.value})`);
    const earlier = this.sets[kind].get(id);
    if (earlier) this.fail(token, `${setWord(kind)} ${id} already defined at line ${earlier.declaredAt.line}`);
    this.closeCurrentSet();
    const draft: SetDraft = {
      kind,
      id,
      declaredAt: { line: token.line, column: token.column },
      size: null,
      sizeAt: null,
      entries: [],
      defaultAction: null,
      match: { localPrefix: null, remotePrefix: null, localPort: false, remotePort: false, seen: new Map() },
    };
    this.sets[kind].set(id, draft);
    this.current = draft;
  }

  private requireCurrentSet(token: Token): SetDraft {
    if (this.current === null) this.fail(token, `${token.key} outside any set; write rule-set:ID or map-set:ID first`);
    return this.current;
  }

  private setSize(token: Token): void {
    const set = this.requireCurrentSet(token);
    if (set.sizeAt !== null) {
      this.fail(token, `size: given twice in ${setWord(set.kind)} ${set.id} (first at line ${set.sizeAt.line})`);
    }
    set.size = this.decimal(token, this.requireValue(token), 1, MAX_SET_SIZE, 'size');
    set.sizeAt = { line: token.line, column: token.column };
  }

  private setMapMatch(token: Token): void {
    const set = this.requireCurrentSet(token);
    if (set.kind !== 'map') this.fail(token, `${token.key} only applies to maps (this is rule set ${set.id})`);
    const first = set.match.seen.get(token.key);
    if (first) this.fail(token, `${token.key} given twice in map ${set.id} (first at line ${first.line})`);
    set.match.seen.set(token.key, { line: token.line, column: token.column });
    switch (token.key) {
      case 'match-lip':
        set.match.localPrefix = this.decimal(token, this.requireValue(token), 0, 128, 'the prefix length');
        break;
      case 'match-rip':
        set.match.remotePrefix = this.decimal(token, this.requireValue(token), 0, 128, 'the prefix length');
        break;
      case 'match-lport':
        this.requireBare(token);
        set.match.localPort = true;
        break;
      case 'match-rport':
        this.requireBare(token);
        set.match.remotePort = true;
        break;
    }
  }

  /** `default ACTION`: exactly one action token, and nothing after it. */
  private setDefault(token: Token, actionToken: Token | undefined, extra: Token | undefined): void {
    this.requireBare(token);
    const set = this.requireCurrentSet(token);
    if (set.defaultAction !== null) {
      const first = set.defaultAction.at?.line;
      this.fail(token, `default given twice in ${setWord(set.kind)} ${set.id} (first at line ${first})`);
    }
    const choices = 'fail, jump-unix:PATH, jump-fd:N, jump-rule:ID or jump-map:ID';
    if (actionToken === undefined) this.fail(token, `default needs an action: ${choices}`);
    if (!ACTION_KEYS.has(actionToken.key)) {
      this.fail(actionToken, `default needs an action (${choices}), not ${quote(actionToken.text)}`);
    }
    const action = this.action(actionToken);
    if (extra !== undefined) this.fail(extra, `default takes exactly one action; unexpected ${quote(extra.text)}`);
    set.defaultAction = action;
  }

  // ---- entries ----

  private startEntry(token: Token): EntryDraft {
    const set = this.requireCurrentSet(token);
    if (set.size === null) this.fail(token, `entry before size: in ${setWord(set.kind)} ${set.id}`);
    if (set.entries.length >= set.size) this.fail(token, `${setWord(set.kind)} ${set.id} is full (size:${set.size})`);
    const entry: EntryDraft = {
      at: { line: token.line, column: token.column },
      local: null,
      remote: null,
      localPort: null,
      remotePort: null,
      action: null,
    };
    set.entries.push(entry);
    return entry;
  }

  private applyEntryToken(entry: EntryDraft, token: Token): void {
    const inMap = this.current!.kind === 'map';
    const duplicate = () => this.fail(token, `duplicate ${token.key}: in one entry`);
    switch (token.key) {
      case 'ip':
        if (entry.local) duplicate();
        entry.local = this.addressMatch(token, inMap);
        return;
      case 'rip':
        if (entry.remote) duplicate();
        entry.remote = this.addressMatch(token, inMap);
        return;
      case 'port':
        if (entry.localPort !== null) duplicate();
        entry.localPort = this.decimal(token, this.requireValue(token), 0, 0xffff, 'a port');
        return;
      case 'rport':
        if (entry.remotePort !== null) duplicate();
        entry.remotePort = this.decimal(token, this.requireValue(token), 0, 0xffff, 'a port');
        return;
      default: {
        const previous = entry.action;
        if (previous !== null) {
          this.fail(token, `duplicate action in one entry (already ${quote(formatAction(previous))})`);
        }
        entry.action = this.action(token);
      }
    }
  }

  /** A map's mask is final when its section ends; only then can keys collide. */
  private closeCurrentSet(): void {
    const set = this.current;
    this.current = null;
    if (set === null || set.kind !== 'map') return;
    const mask = mapMaskTuple(set.match);
    const firstByKey = new Map<string, EntryDraft>();
    for (const entry of set.entries) {
      const key = Buffer.from(mapEntryKey(entry as Entry, mask)).toString('hex');
      const first = firstByKey.get(key);
      if (first) this.fail(entry.at, `duplicate key in map ${set.id}; first at line ${first.at.line}`);
      firstByKey.set(key, entry);
    }
  }

  // ---- result ----

  private build(): ClassicConfig {
    const ruleSets: RuleSet[] = [];
    for (let id = 0; id < (this.max.rule?.value ?? 0); id++) {
      const draft = this.sets.rule.get(id);
      ruleSets.push({ kind: 'rule', id, ...this.commonFields(draft) });
    }
    const mapSets: MapSet[] = [];
    for (let id = 0; id < (this.max.map?.value ?? 0); id++) {
      const draft = this.sets.map.get(id);
      const match: MapMatch = draft
        ? {
            localPrefix: draft.match.localPrefix,
            remotePrefix: draft.match.remotePrefix,
            localPort: draft.match.localPort,
            remotePort: draft.match.remotePort,
          }
        : { localPrefix: null, remotePrefix: null, localPort: false, remotePort: false };
      mapSets.push({ kind: 'map', id, ...this.commonFields(draft), match });
    }
    return { file: this.file, maxRules: this.max.rule?.value ?? null, maxMaps: this.max.map?.value ?? null, ruleSets, mapSets };
  }

  private commonFields(draft: SetDraft | undefined) {
    if (!draft) return { declaredAt: null, size: null, entries: [], defaultAction: null };
    return {
      declaredAt: draft.declaredAt,
      size: draft.size,
      entries: draft.entries.map((entry): Entry => ({ ...entry, action: entry.action ?? { kind: 'fail', at: null } })),
      defaultAction: draft.defaultAction,
    };
  }
}

/** Parses a classic config; throws ConfigError (and nothing else) on bad input. */
export function parseClassicConfig(text: string, file: string): ClassicConfig {
  return new ClassicParser(file).parse(text);
}
