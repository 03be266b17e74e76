/**
 * `socketbox --check` for a JSON config: one screen about what parsed —
 * listeners, registration sockets, slots, sets — and what looks like a
 * mistake even though it is valid.
 */
import { formatIPv6 } from '../net/address';
import { JsonConfig, JsonId, JsonListener, JsonMapSet, ID_UNCHANGED, START_SET, dispatchesByListener } from '../config/json-model';

/** Long lists are cut so the summary stays one screen. */
const MAX_LISTED = 20;

function capped(lines: string[], what: string): string[] {
  if (lines.length <= MAX_LISTED) return lines;
  return [...lines.slice(0, MAX_LISTED), `  ... and ${lines.length - MAX_LISTED} more ${what}`];
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function formatId(id: JsonId): string {
  return id === ID_UNCHANGED ? 'unchanged' : String(id);
}

function listenerLine(listener: JsonListener): string {
  if (listener.kind === 'fd') {
    const listen = listener.listen ? `listen, backlog ${listener.backlog}` : 'already listening';
    return `  ${listener.index}  fd ${listener.fd}  ${listen}`;
  }
  const options = [`backlog ${listener.backlog}`];
  if (listener.transparent) options.push('transparent');
  if (listener.freebind) options.push('freebind');
  if (!listener.reuseaddr) options.push('no reuseaddr');
  if (listener.reuseport) options.push('reuseport');
  if (listener.netns !== null) options.push(`netns ${listener.netns}`);
  return `  ${listener.index}  [${formatIPv6(listener.address)}]:${listener.port}  ${options.join(', ')}`;
}

/** A 16-byte mask as `/LEN` when it is a prefix, else as an address. */
function formatAddressMask(mask: Uint8Array): string {
  let bits = 0;
  while (bits < 128 && mask[bits >> 3] & (0x80 >> (bits & 7))) bits++;
  for (let i = bits; i < 128; i++) if (mask[i >> 3] & (0x80 >> (i & 7))) return formatIPv6(mask);
  return `/${bits}`;
}

function formatMapMask(set: JsonMapSet): string {
  const parts: string[] = [];
  const zero = (from: number, to: number) => set.mask.subarray(from, to).every((byte) => byte === 0);
  if (!zero(0, 16)) parts.push(`local ${formatAddressMask(set.mask.subarray(0, 16))}`);
  if (!zero(16, 32)) parts.push(`remote ${formatAddressMask(set.mask.subarray(16, 32))}`);
  if (!zero(32, 34)) parts.push('local port');
  if (!zero(34, 36)) parts.push('remote port');
  if (set.listenerMasked) parts.push('incoming socket');
  return parts.length > 0 ? parts.join(', ') : 'nothing (every key is the same)';
}

function setLines(config: JsonConfig): string[] {
  const sets = [...config.sets.values()];
  const width = Math.max(...sets.map((set) => set.name.length));
  return capped(
    sets.map((set) => {
      const mask = set.kind === 'map' ? `  mask: ${formatMapMask(set)}` : '';
      return `  ${set.name.padEnd(width)}  ${set.kind.padEnd(4)}  line ${set.at.line}  ${plural(set.entries.length, 'entry', 'entries')}${mask}`;
    }),
    'sets',
  );
}

/** Sets reachable from `_start` by following jumps. */
function reachableSets(config: JsonConfig): Set<string> {
  const seen = new Set<string>();
  const queue = [START_SET];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const entry of config.sets.get(name)?.entries ?? []) if (entry.action.kind === 'jump') queue.push(entry.action.set);
  }
  return seen;
}

function usedSlots(config: JsonConfig): Map<number, number> {
  const uses = new Map<number, number>();
  for (const set of config.sets.values()) {
    for (const entry of set.entries) {
      if (entry.action.kind === 'slot') uses.set(entry.action.slot, (uses.get(entry.action.slot) ?? 0) + 1);
    }
  }
  return uses;
}

function warningLines(config: JsonConfig): string[] {
  const warnings: string[] = [];
  const reachable = reachableSets(config);
  const uses = usedSlots(config);
  for (const set of config.sets.values()) {
    if (!reachable.has(set.name)) warnings.push(`line ${set.at.line}: set '${set.name}' is never reached from ${START_SET}`);
    // In a rule set, an entry without conditions hides every entry after it.
    const catchAllIndex = set.kind === 'rule' ? set.entries.findIndex((e) => e.listener === null && e.mask.every((b) => b === 0)) : -1;
    const catchAll = catchAllIndex >= 0 ? set.entries[catchAllIndex] : undefined;
    set.entries.forEach((entry, index) => {
      if (entry.listener !== null && entry.listener >= config.incoming.length && (set.kind === 'rule' || set.listenerMasked)) {
        warnings.push(`line ${entry.at.line}: incoming_socket ${entry.listener} never matches: there are ${config.incoming.length} listeners`);
      }
      if (entry.listener !== null && set.kind === 'map' && !set.listenerMasked) {
        warnings.push(`line ${entry.at.line}: incoming_socket is ignored: the mask of map '${set.name}' does not name it`);
      }
      if (catchAll && index > catchAllIndex) {
        warnings.push(`line ${entry.at.line}: never matches; line ${catchAll.at.line} before it matches everything`);
      }
    });
  }
  for (const slot of config.outgoing) if (!uses.has(slot.slot)) warnings.push(`slot ${slot.slot} is never used by a rule`);
  for (const path of config.paths) {
    if (!config.outgoing.some((slot) => slot.pathNr === path.index)) warnings.push(`paths[${path.index}] (${path.socket}) is used by no slot`);
  }
  return capped(warnings.map((warning) => `  ${warning}`), 'warnings');
}

/** The text `--check` prints for a JSON config that parsed. */
export function formatJsonCheckSummary(config: JsonConfig): string {
  const sets = [...config.sets.values()];
  const entries = sets.reduce((sum, set) => sum + set.entries.length, 0);
  const uses = usedSlots(config);
  const daemon = config.daemon;
  const daemonParts = [
    `uid ${daemon.uid ?? 'unchanged'}`,
    `gid ${daemon.gid ?? 'unchanged'}`,
    `groups ${daemon.groups === null ? 'unchanged' : daemon.groups.length === 0 ? 'none' : daemon.groups.join(',')}`,
    `chroot ${daemon.chroot ?? 'none'}`,
    `final netns ${config.finalNetns ?? 'none'}`,
    `${daemon.apiConnectionsPerUid} API connections per uid`,
  ];
  const lines = [
    `${config.file}: OK (JSON config, socketbox-version 1)`,
    'listeners:',
    ...capped(config.incoming.map(listenerLine), 'listeners'),
    'registration sockets:',
    ...(config.paths.length === 0
      ? ['  (none: no receiver can register)']
      : capped(
          config.paths.map((p) => `  ${p.index}  ${p.socket}  mode ${p.mode.toString(8).padStart(4, '0')}  uid ${formatId(p.uid)}  gid ${formatId(p.gid)}`),
          'registration sockets',
        )),
    'slots:',
    ...(config.outgoing.length === 0
      ? ['  (none: no connection can be delivered)']
      : capped(
          config.outgoing.map(
            (s) => `  ${s.slot}  uid ${s.uid}  on paths[${s.pathNr}]  used by ${plural(uses.get(s.slot) ?? 0, 'entry', 'entries')}`,
          ),
          'slots',
        )),
    `daemon: ${daemonParts.join(', ')}`,
    `sets: ${plural(sets.length, 'set', 'sets')}, ${plural(entries, 'entry', 'entries')}${
      dispatchesByListener(sets) ? ', decided per listener (incoming_socket)' : ''
    }`,
    ...setLines(config),
  ];
  const warnings = warningLines(config);
  lines.push(warnings.length > 0 ? 'warnings:' : 'warnings: none', ...warnings);
  return `${lines.join('\n')}\n`;
}
