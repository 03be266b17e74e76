import { STAT } from './stats-layout';
import type { LivenessProbe } from './systemd-watchdog';

/**
 * Resolves once every accept loop has answered a ping (so it really runs): what READY=1, the
 * -d parent and the old process of a live upgrade wait for. Stops waiting once `cancelled`.
 */
export async function whenLoopsAnswer(pool: LivenessProbe, cancelled: () => boolean = () => false): Promise<void> {
  const before = pool.perLoop(STAT.pongs);
  pool.ping();
  while (!cancelled() && pool.perLoop(STAT.pongs).some((n, i) => n <= before[i])) await new Promise((r) => setTimeout(r, 10));
}
