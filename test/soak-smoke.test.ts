/** A CI-sized run of the soak (npm run load-test): its invariants must hold; speed is not judged. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

t.test('a 6-second soak keeps every invariant', async (t) => {
  const soak = path.join(__dirname, '..', 'dist', 'load-tests', 'soak.js');
  const r = spawnSync(process.execPath, [soak, '--duration', '6', '--port', '18201'], { encoding: 'utf8', timeout: 90_000 });
  t.equal(r.status, 0, `the soak's checks pass\n${r.stdout}${r.stderr}`);
  t.match(r.stdout, /\| accepted = delivered \+ Σ refused \| ok \|/);
  t.match(r.stdout, /\| no descriptor leak \| ok \|/);
  t.notMatch(r.stdout, /FAILED/);
});
