/**
 * The relay's C core (native/relay/) under AddressSanitizer, UBSan and LeakSanitizer with
 * real sockets (test/native/relay-harness.c): three relays at once — TCP listener to a TCP
 * backend with PROXY v2, descriptors received on a datagram socket (with descriptor floods)
 * to a UNIX backend with PROXY v1 and a connection cap, and a backend that refuses — with
 * transfers of up to 256 KiB echoed byte for byte through half-closes, clients that reset
 * mid-transfer, every PROXY header checked by the backend, then stop and destroy with no
 * descriptor left open. Exit 0, no sanitizer report.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { enterTestNetns } from '../testkit/netns';
import { REPORT, ROOT, buildDir, buildSanitized, harnessSources, lastJsonLine, nativeSources, runSanitized } from './helpers/sanitizer-build';

enterTestNetns();

t.test('relays under the sanitizers: transfers, half-closes, resets, PROXY headers, floods', async (t) => {
  const harness = buildSanitized(
    'relay-harness',
    [...harnessSources('relay-harness.c', 'harness_util.c', 'hostile_peers.c'), ...nativeSources('relay', 'common'), path.join(ROOT, 'native', 'server', 'fdpass.c')],
    { flags: ['-Wno-format-truncation'] },
  );
  const dir = fs.mkdtempSync(path.join(buildDir(), 'relay-'));
  const started = Date.now();
  const r = runSanitized(harness, [dir, '40'], { timeoutMs: 90_000 });
  const figures = lastJsonLine(r.stdout);
  t.equal(r.error, undefined, 'the harness ran (and finished within 90 s)');
  t.equal(r.signal, null, 'no signal');
  t.equal(r.status, 0, `exit 0; ${JSON.stringify(figures)}`);
  t.notMatch(r.stderr, REPORT, 'no sanitizer report');
  t.equal(r.stderr.trim(), '', 'nothing else on stderr');
  t.equal(figures.connections, 5 * 40 + 11, 'every connection had an outcome');
  t.ok(Number(figures.echoed) > 150 && Number(figures.resets) > 0, 'most were echoed whole, some reset');
  t.comment(`relay: ${JSON.stringify(figures)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
