// With several rounds, each (server, in-flight level) is represented by its median round by
// rate: a whole measured row, so its latency and CPU belong to the same run as its rate.
import type { Row } from './measure-row';

export function medianRoundRows(all: readonly Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const row of all) {
    const key = `${row.inflight}/${row.server}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((rounds) => {
    const sorted = [...rounds].sort((a, b) => a.rate_per_s - b.rate_per_s);
    return sorted[(sorted.length - 1) >> 1];
  });
}
