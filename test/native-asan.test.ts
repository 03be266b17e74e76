/**
 * The native table loader, lookup and path substitution under AddressSanitizer
 * and UBSan: native/server/table.c, lookup.c and path_subst.c are
 * compiled with test/helpers/asan-harness.c, which loads 200,000 corrupt and
 * valid tables (random bytes, truncations, mutations of valid tables written
 * here with compileTable, out-of-range indexes), looks up every accepted one
 * and substitutes random path templates. The run must exit 0 with nothing on
 * stderr. A compiler or sanitizer runtime that is missing fails the test: the
 * point is that this runs in CI (Debian's gcc-12 brings libasan8/libubsan1).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileSingleTarget } from '../src/table/compile';
import { compileClassic, noRuleSetsTable, rulesAndMapTable, singleFdTargetTable, singleUnixTargetTable } from '../testkit/table-fixtures';

const ROOT = path.resolve(__dirname, '..');
const CASES = 200_000;
const SEED = 20240612;
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'];
// Any of these on stderr is a sanitizer report, whatever the exit status says.
const REPORT = /AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|SUMMARY:/;
const SANITIZER_ENV = {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-asan-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

let built: string | undefined;

/** Compiles the harness with the sanitizers (once); throws with the compiler's output on failure. */
function buildHarness(): string {
  if (built) return built;
  const output = path.join(dir, 'asan-harness');
  const sources = ['table.c', 'lookup.c', 'path_subst.c'].map((f) => path.join(ROOT, 'native', 'server', f));
  const r = spawnSync(
    'cc',
    ['-std=gnu11', '-D_GNU_SOURCE', '-O1', '-g', ...SANITIZE, '-Wall', '-Wextra', '-I', path.join(ROOT, 'native'), '-o', output, path.join(__dirname, 'helpers', 'asan-harness.c'), ...sources],
    { encoding: 'utf8', timeout: 60_000 },
  );
  if (r.error || r.status !== 0) {
    throw new Error(
      `building the ASan harness failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}); ` +
        `cc with libasan and libubsan is required (Debian: gcc, which brings libasan8 and libubsan1):\n${r.stderr}`,
    );
  }
  built = output;
  return output;
}

function run(harness: string, args: string[], timeoutMs = 60_000) {
  return spawnSync(harness, args, { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...SANITIZER_ENV } });
}

// ---- valid tables to start from ----

function manyEntries(): Buffer {
  const lines = ['max-rules:3', 'max-maps:2', 'rule-set:0 size:40'];
  for (let i = 0; i < 20; i++) lines.push(`ip:2001:db8:${i}::/${40 + i} rport:${i} jump-unix:/run/r${i % 4}/#//${i % 8}_.sock`);
  for (let i = 0; i < 8; i++) lines.push(`rip:fd00:${i}::/ffff:ffff:ff00:: jump-fd:${i}`);
  lines.push('port:1 jump-map:0', 'port:2 jump-map:1', 'port:3 jump-rule:1', 'default jump-rule:2');
  lines.push('rule-set:1 size:1', 'ip:::/0 jump-rule:0'); // a loop back to 0: lookups cut it after 100 steps
  lines.push('rule-set:2 default jump-unix:@abstract-#//P_');
  lines.push('map-set:0 size:30 match-lip:64 match-lport');
  for (let i = 0; i < 30; i++) lines.push(`ip:2001:db8:0:${i.toString(16)}:: port:${i} jump-${i % 3 === 0 ? 'fd:3' : i % 3 === 1 ? `unix:/m/${i}` : 'rule:2'}`);
  lines.push('default jump-unix:/' + 'x'.repeat(106));
  lines.push('map-set:1 size:9 match-rip:128 match-rport');
  for (let i = 0; i < 9; i++) lines.push(`rip:::ffff:192.0.2.${i} rport:${i} jump-${i % 2 ? 'fd:4' : 'map:0'}`);
  return compileClassic(lines, true);
}

const CORPUS: Array<[string, Buffer]> = [
  ['single unix target', singleUnixTargetTable()],
  ['single template target', compileSingleTarget({ kind: 'unix', path: 'sub/#//7_-#//P_.sock' }, { pathSubstitution: true }).bytes],
  ['single fd target', singleFdTargetTable()],
  ['no rule sets', noRuleSetsTable()],
  ['empty rule set', compileClassic(['max-rules:1'], false)],
  ['rules and a map', rulesAndMapTable('/run/#//0_#//1_#//2_#//3_#//4_#//5_#//6_#//7_#//P_')],
  ['many entries', manyEntries()],
];

t.test('the sanitizers are really in the build', async (t) => {
  const harness = buildHarness();
  const overflow = run(harness, ['--overflow']);
  t.not(overflow.status, 0, 'a read past a heap block stops the harness');
  t.match(overflow.stderr, /AddressSanitizer: heap-buffer-overflow/, 'and ASan reports it');
  const ub = run(harness, ['--ub']);
  t.not(ub.status, 0, 'signed overflow stops the harness');
  t.match(ub.stderr, /runtime error: signed integer overflow/, 'and UBSan reports it');
  const leak = run(harness, ['--leak']);
  t.not(leak.status, 0, 'a leaked block fails the run at exit');
  t.match(leak.stderr, /LeakSanitizer: detected memory leaks/, 'and LeakSanitizer reports it');
});

t.test(`${CASES} corrupt and valid tables: no sanitizer report, exit 0`, async (t) => {
  const harness = buildHarness();
  const corpusFile = path.join(dir, 'corpus.bin');
  fs.writeFileSync(corpusFile, Buffer.concat(CORPUS.flatMap(([, table]) => [Buffer.from(Uint32Array.of(table.length).buffer), table])));
  const started = Date.now();
  const r = run(harness, [corpusFile, String(CASES), String(SEED)]);
  const seconds = (Date.now() - started) / 1000;
  t.equal(r.error, undefined, 'the harness ran (and finished within 60 s)');
  t.equal(r.signal, null, 'no signal');
  t.equal(r.status, 0, `exit 0; stdout: ${r.stdout.trim()}`);
  t.notMatch(r.stderr, REPORT, 'no sanitizer report');
  t.equal(r.stderr, '', 'nothing at all on stderr');
  const counts = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, number>;
  t.comment(`asan: ${counts.cases} tables (${counts.accepted} accepted, ${counts.rejected} rejected), ${counts.lookups} lookups, ${counts.substitutions} substitutions in ${seconds.toFixed(1)} s`);
  t.equal(counts.cases, CASES, 'every case ran');
  t.ok(counts.accepted > CASES / 20 && counts.rejected > CASES / 2, 'both outcomes are common');
  t.ok(counts.lookups >= 4 * counts.accepted, 'lookups on every accepted table');
  t.ok(counts.substitutions >= CASES, 'path substitution on at least one random template per case');
});
