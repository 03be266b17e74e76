import { REFUSAL_REASONS, STAT } from './stats-layout';

/** "accepted 10, delivered 9, refused 1 (no_match 1)": the accounting in one line. */
export function summarizeCounters(totals: readonly bigint[]): string {
  const refused = REFUSAL_REASONS.filter(([, i]) => totals[i] > 0n);
  const refusedSum = refused.reduce((n, [, i]) => n + totals[i], 0n);
  const detail = refused.length ? ` (${refused.map(([name, i]) => `${name} ${totals[i]}`).join(', ')})` : '';
  return `accepted ${totals[STAT.accepted]}, delivered ${totals[STAT.delivered]}, refused ${refusedSum}${detail}`;
}
