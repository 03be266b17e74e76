// Peak RSS of the memory baseline (bench/rss-baseline.ts), measured once per run: socketbox's
// peak RSS is reported against it.
import * as path from 'node:path';
import { memoryKiB } from '../../testkit/proc-status';
import { projectRoot } from '../../testkit/project-root';
import { startProgram, waitUntilReady } from './child-process';

export async function measureRssBaselineKiB(): Promise<number> {
  const script = path.join(projectRoot, 'dist', 'bench', 'rss-baseline.js');
  const baseline = startProgram('rss-baseline', process.execPath, [script]);
  await waitUntilReady('the RSS baseline (node with one worker thread)', [baseline], () => baseline.stdout().includes('ready'));
  try {
    return memoryKiB(baseline.pid, 'VmHWM');
  } finally {
    await baseline.stop(5000);
  }
}
