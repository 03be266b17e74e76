// `npm run profile` at CI size: clinic doctor on socketbox under load for two
// seconds, in a private network namespace, must end with its HTML report written.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../testkit/project-root';
import { enterTestNetns } from '../testkit/netns';

enterTestNetns([]);

t.test('clinic doctor profiles socketbox and writes its report', async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-profile-smoke-'));
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  // Through env(1), without NODE_OPTIONS: tap's process tracking would otherwise put its own
  // loader there again, and clinic hands NODE_OPTIONS on to socketbox.
  const profile = [process.execPath, path.join(projectRoot, 'dist', 'load-tests', 'profile.js'), 'doctor', '--seconds', '2', '--out', out];
  const r = spawnSync('env', ['-u', 'NODE_OPTIONS', ...profile], { encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, 'profile exits 0', { stderr: r.stderr.slice(-2000) });
  t.match(r.stdout, /profile: \d+ connections in 2 s/, 'connections flowed while profiling');
  const reports = fs.readdirSync(out).filter((f) => f.endsWith('.clinic-doctor.html'));
  t.equal(reports.length, 1, 'one doctor report');
  t.ok(fs.statSync(path.join(out, reports[0])).size > 100_000, 'the report holds the analysis');
  t.notMatch(r.stderr, /Decoded message is not valid/, 'the sample files decode');
});
