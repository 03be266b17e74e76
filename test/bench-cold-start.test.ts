// The cold-start benchmark at CI size (one activation of each subject): every subject is
// started by systemd-socket-activate and answers the first connection as it should, and the
// report is complete. It checks invariants, not speed (speed is the benchmark's to report).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBenchPrograms } from '../bench/build';
import { COLD_START_SUBJECTS, renderColdStart, runColdStart } from '../bench/harness/cold-start';
import { binPath } from '../testkit/project-root';

t.test('cold start: one activation of each subject', async (t) => {
  const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-cold-start-bin-'));
  t.teardown(() => fs.rmSync(binDir, { recursive: true, force: true }));
  const report = await runColdStart({ programs: buildBenchPrograms(binDir), socketbox: binPath('socketbox'), rounds: 1, log: () => undefined });
  t.same(report.rows.map((r) => r.subject), COLD_START_SUBJECTS, 'a row for every subject, in order');
  for (const row of report.rows) {
    t.equal(row.samples_us.length, 1, `${row.subject}: one sample`);
    t.ok(row.median_us > 0 && row.median_us < 20_000_000, `${row.subject}: answered in ${(row.median_us / 1000).toFixed(1)} ms`);
    if (row.subject.startsWith('socketbox')) t.ok(row.median_cpu_us !== null && row.median_cpu_us >= 0, `${row.subject}: its CPU time read`);
    else t.equal(row.median_cpu_us, null, `${row.subject}: no CPU time (it exits by itself)`);
  }
  t.equal(report.rows.find((r) => r.subject === 'node')!.vs_node, 1, '`node -e 0` is the baseline');
  t.same(report.targets.map((x) => x.target.includes('--workers 1') || x.target.includes('--workers 2')), [true, true], 'a target for --workers 1 and 2');
  const table = renderColdStart(report).filter((l) => l.startsWith('| '));
  t.equal(table.length, COLD_START_SUBJECTS.length + 2, 'the Markdown table: header, separator and a row per subject');
});
