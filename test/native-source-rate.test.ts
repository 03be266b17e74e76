/**
 * The --source-rate table (native/server/source_rate.c) on its own under ASan/UBSan, with
 * the clock set by the test (test/native/source-rate-unit.c): IPv6 /64 and IPv4 /24
 * sources share a bucket and their neighbours do not; a new source gets exactly its burst,
 * tokens come back at the rate to the microsecond (also for 0.5 per second), never beyond
 * the burst, and a clock read earlier by another loop gives none; a full shard forgets the
 * least recently seen source, which comes back with a full bucket; bad configurations are
 * refused; the keyed hash gives SipHash-2-4's reference vector. test/source-rate.test.ts drives the same table end to end.
 */
import t from 'tap';
import { REPORT, buildSanitized, harnessSources, lastJsonLine, nativeSources, runSanitized } from './helpers/sanitizer-build';

t.test('the source rate table: prefixes, token arithmetic, least recently seen eviction', async (t) => {
  const sources = nativeSources('server').filter((f) => /\/(source_rate|keyed_hash)\.c$/.test(f));
  t.equal(sources.length, 2, 'source_rate.c and keyed_hash.c');
  const program = buildSanitized('source-rate-unit', [...harnessSources('source-rate-unit.c', 'harness_util.c'), ...sources]);
  const r = runSanitized(program, [], { timeoutMs: 30_000 });
  t.equal(r.status, 0, `exit 0; ${r.stdout}`);
  t.notMatch(r.stderr, REPORT, 'no sanitizer report');
  t.same(lastJsonLine(r.stdout), { added: 11, evicted: 4 }, 'every source added or evicting exactly as the steps say');
});
