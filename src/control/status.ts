/** `status`: what socketbox serves now, in text for people and JSON for machines. */
import { rulesGeneration } from '../server/reload';
import { REFUSAL_REASONS, STAT } from '../server/stats-layout';
import { targetBooks } from '../server/target-books';
import type { ControlContext } from './context';
import type { Answer } from './protocol';

/** Where the rules come from: the file, or the flag that replaces it. */
function configSource(context: ControlContext): string {
  const o = context.options;
  if (o.forcedUnixPath !== undefined) return `-S ${o.forcedUnixPath}`;
  if (o.forcedFd !== undefined) return `-i ${o.forcedFd}`;
  return o.configFile;
}

export function statusAnswer(context: ControlContext): Answer {
  const { pool, reloadCounts } = context;
  const generation = rulesGeneration(reloadCounts);
  const uptimeSeconds = Math.floor((Date.now() - context.startedAt) / 1000);
  const config = configSource(context);
  const workers = pool.workerStates().map((state, index) => ({ index, state }));
  const totals = pool.totals();
  const refused = Object.fromEntries(REFUSAL_REASONS.map(([reason, i]) => [reason, totals[i]]));
  const targets = targetBooks(pool, context.fastPath);
  const registrations = context.registrar ? heldRegistrations(context) : undefined;
  const lastReload = reloadCounts.lastFailed ? 'failed (the previous rules are serving)' : 'ok';

  const text = [
    `ok serving generation ${generation} of ${config}, up ${uptimeSeconds} s`,
    `workers: ${workers.map((w) => `${w.index} ${w.state}`).join(', ')}`,
    `reloads: ${reloadCounts.succeeded} succeeded, ${reloadCounts.failed} failed; last ${lastReload}`,
    `connections: accepted ${totals[STAT.accepted]}, delivered ${totals[STAT.delivered]}, waiting ${BigInt.asIntN(64, totals[STAT.pending])}`,
    ...targets.map((b) => `target ${b.target}: delivered ${b.delivered}, refused ${b.refused}, waiting ${b.waiting}`),
  ];
  if (registrations) text.push(`registrations: ${registrations.length} held${registrations.length ? ` (${registrations.map((r) => `o:${r.slot} by uid ${r.uid}`).join(', ')})` : ''}`);
  return {
    ok: true,
    text,
    json: {
      generation,
      config,
      uptimeSeconds,
      workers,
      reloads: { ...reloadCounts },
      connections: { accepted: totals[STAT.accepted], delivered: totals[STAT.delivered], waiting: BigInt.asIntN(64, totals[STAT.pending]), refused },
      targets,
      ...(registrations ? { registrations } : {}),
    },
  };
}

/** Which slots are held, by which uid, since when (ISO time), and whether the fast path serves them. */
function heldRegistrations(context: ControlContext): Array<{ slot: number; uid: number; since: string; listenerMode: boolean }> {
  return context.addon.registrationsHeld().map((r) => ({ slot: r.slot, uid: r.uid, since: new Date(r.sinceMs).toISOString(), listenerMode: r.listenerMode }));
}
