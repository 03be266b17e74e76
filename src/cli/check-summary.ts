/**
 * `socketbox --check`: one screen about a parsed config — its sets, where
 * connections can go, and what looks like a mistake even though it parses.
 */
import { Action, ClassicConfig, ConfigSet, Entry, MapMatch, Target, formatAction, formatTarget, setName } from '../config/model';

/** Long lists are cut so the summary stays one screen. */
const MAX_LISTED = 20;

function allSets(config: ClassicConfig): ConfigSet[] {
  return [...config.ruleSets, ...config.mapSets];
}

function targetOf(action: Action | null): Target | null {
  if (action?.kind === 'unix') return { kind: 'unix', path: action.path };
  if (action?.kind === 'fd') return { kind: 'fd', fd: action.fd };
  return null;
}

function jumpTarget(config: ClassicConfig, action: Action | null): ConfigSet | null {
  if (action?.kind === 'jump-rule') return config.ruleSets[action.id] ?? null;
  if (action?.kind === 'jump-map') return config.mapSets[action.id] ?? null;
  return null;
}

/** Every action of a set, each with the line it was written on. */
interface PlacedAction {
  action: Action | null;
  line: number | null;
  isDefault: boolean;
}

function actionsOf(set: ConfigSet): PlacedAction[] {
  const list: PlacedAction[] = set.entries.map((entry) => ({ action: entry.action, line: entry.at.line, isDefault: false }));
  list.push({ action: set.defaultAction, line: set.defaultAction?.at?.line ?? null, isDefault: true });
  return list;
}

/** `1-3, 5, 9-12`. */
function idRanges(ids: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    parts.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

function formatMatch(match: MapMatch): string {
  const parts: string[] = [];
  if (match.localPrefix !== null) parts.push(`match-lip:${match.localPrefix}`);
  if (match.remotePrefix !== null) parts.push(`match-rip:${match.remotePrefix}`);
  if (match.localPort) parts.push('match-lport');
  if (match.remotePort) parts.push('match-rport');
  return parts.length > 0 ? parts.join(' ') : 'no match-* (every key is all zero)';
}

function capped(lines: string[], what: string): string[] {
  if (lines.length <= MAX_LISTED) return lines;
  return [...lines.slice(0, MAX_LISTED), `  ... and ${lines.length - MAX_LISTED} more ${what}`];
}

function setLines(config: ClassicConfig): string[] {
  const declared = allSets(config).filter((set) => set.declaredAt !== null);
  const width = Math.max(0, ...declared.map((set) => setName(set).length));
  const lines = declared.map((set) => {
    const size = `${set.entries.length}/${set.size ?? 0} entries`;
    const defaultText =
      set.defaultAction === null ? 'default: no match' : `default: ${formatAction(set.defaultAction)} (line ${set.defaultAction.at?.line})`;
    const match = set.kind === 'map' ? `  ${formatMatch(set.match)}` : '';
    return `  ${setName(set).padEnd(width)}  line ${set.declaredAt!.line}  ${size}  ${defaultText}${match}`;
  });
  const result = capped(lines, 'sets');
  for (const kind of ['rule', 'map'] as const) {
    const sets = kind === 'rule' ? config.ruleSets : config.mapSets;
    const ids = sets.filter((set) => set.declaredAt === null).map((set) => set.id);
    if (ids.length > 0) {
      result.push(`  ${kind === 'rule' ? 'rule-set' : 'map-set'} ${idRanges(ids)}: not declared (empty, no match)`);
    }
  }
  return result;
}

function targetLines(config: ClassicConfig): string[] {
  const uses = new Map<string, { entries: number; defaults: number }>();
  for (const set of allSets(config)) {
    for (const { action, isDefault } of actionsOf(set)) {
      const target = targetOf(action);
      if (target === null) continue;
      const name = formatTarget(target);
      const count = uses.get(name) ?? { entries: 0, defaults: 0 };
      if (isDefault) count.defaults++;
      else count.entries++;
      uses.set(name, count);
    }
  }
  if (uses.size === 0) return ['  (none: no connection can be delivered)'];
  const width = Math.max(...[...uses.keys()].map((name) => name.length));
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  const lines = [...uses].map(([name, used]) => {
    const parts: string[] = [];
    if (used.entries > 0) parts.push(count(used.entries, 'entry', 'entries'));
    if (used.defaults > 0) parts.push(count(used.defaults, 'default', 'defaults'));
    return `  ${name.padEnd(width)}  ${parts.join(', ')}`;
  });
  return capped(lines, 'targets');
}

/** Sets reachable from rule set 0 by following jumps. */
function reachableSets(config: ClassicConfig): Set<ConfigSet> {
  const seen = new Set<ConfigSet>();
  const queue: ConfigSet[] = config.ruleSets.length > 0 ? [config.ruleSets[0]] : [];
  while (queue.length > 0) {
    const set = queue.pop()!;
    if (seen.has(set)) continue;
    seen.add(set);
    for (const { action } of actionsOf(set)) {
      const next = jumpTarget(config, action);
      if (next !== null) queue.push(next);
    }
  }
  return seen;
}

/** An entry with no condition at all matches every connection. */
function matchesEverything(entry: Entry): boolean {
  const zero = (mask: Uint8Array | undefined) => mask === undefined || mask.every((byte) => byte === 0);
  return zero(entry.local?.mask) && zero(entry.remote?.mask) && entry.localPort === null && entry.remotePort === null;
}

function warningLines(config: ClassicConfig): string[] {
  const warnings: string[] = [];
  if (config.maxRules === null) {
    warnings.push('no max-rules: there is no rule set 0, so every connection is refused');
  } else if (config.ruleSets[0].declaredAt === null) {
    warnings.push('rule-set:0 is not declared: every connection is refused (no match)');
  }
  const reachable = reachableSets(config);
  for (const set of allSets(config)) {
    if (set.declaredAt !== null && !reachable.has(set)) {
      warnings.push(`line ${set.declaredAt.line}: ${setName(set)} is never reached from rule-set:0`);
    }
    for (const { action, line } of actionsOf(set)) {
      const next = jumpTarget(config, action);
      if (next !== null && next.declaredAt === null) {
        warnings.push(`line ${line}: ${formatAction(action)} goes to ${setName(next)}, which is not declared (no match)`);
      }
    }
    const catchAll = set.kind === 'rule' ? set.entries.find(matchesEverything) : undefined;
    for (const entry of set.entries) {
      if (entry.action.kind === 'fail' && entry.action.at === null) {
        warnings.push(`line ${entry.at.line}: entry has no action, so it means fail`);
      }
      if (catchAll && entry !== catchAll && entry.at.line > catchAll.at.line) {
        warnings.push(`line ${entry.at.line}: never matches; line ${catchAll.at.line} before it matches everything`);
      }
    }
  }
  return capped(warnings.map((warning) => `  ${warning}`), 'warnings');
}

/** The text `--check` prints for a config that parsed. */
export function formatCheckSummary(config: ClassicConfig): string {
  const entries = allSets(config).reduce((sum, set) => sum + set.entries.length, 0);
  const lines = [
    `${config.file}: OK`,
    `max-rules: ${config.maxRules ?? 'not given'}, max-maps: ${config.maxMaps ?? 'not given'}, ${entries} entries`,
    'sets:',
    ...setLines(config),
    'targets:',
    ...targetLines(config),
  ];
  const warnings = warningLines(config);
  lines.push(warnings.length > 0 ? 'warnings:' : 'warnings: none', ...warnings);
  return `${lines.join('\n')}\n`;
}
