/**
 * libFuzzer targets for every parser that reads bytes another process wrote, built with
 * clang's -fsanitize=fuzzer,address,undefined (test/native/fuzz_*.c):
 *   registration    packets on an API connection, as the registrar (native/server/registrar.c)
 *                   sees them, against a live registrar thread
 *   received-fds    a received message's control data (native/common/received_fds.c) raw, and
 *                   real messages with descriptor floods through skbox_receive_fd (fd_receive.c)
 *   preload-records the preload library's skbox_dir_AAAAA record files (unix_target_path.c)
 * The relay reads no PROXY header (it only writes them, native/relay/proxy_header.c), so there is
 * no PROXY parser to fuzz. Each target runs a fixed number of inputs from a fixed seed, starting
 * from the committed seeds in test/native/corpus/, and must finish without a report.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HARNESS_DIR, REPORT, buildDir, buildSanitized, harnessSources, nativeSources, FASTPATH_OFF, runSanitized } from './helpers/sanitizer-build';

const FUZZER = ['-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'];
const SEED = 20240917;

const targets = [
  { name: 'registration', sources: () => [...harnessSources('fuzz_registration.c'), ...nativeSources('server', 'common'), ...FASTPATH_OFF], runs: 20_000, maxLen: 128 },
  { name: 'received-fds', sources: () => [...harnessSources('fuzz_received_fds.c'), ...nativeSources('common')], runs: 10_000, maxLen: 512, flags: ['-Wl,--wrap=close'] },
  { name: 'preload-records', sources: () => [...harnessSources('fuzz_preload_records.c'), ...['unix_target_path.c', 'record_file.c'].map((f) => path.join(HARNESS_DIR, '..', '..', 'native', 'preload', f))], runs: 10_000, maxLen: 2048 },
];

for (const target of targets) {
  t.test(`fuzz ${target.name}: ${target.runs} inputs from seed ${SEED}, no report`, async (t) => {
    const fuzzer = buildSanitized(`fuzz-${target.name}`, target.sources(), { compiler: 'clang', sanitize: FUZZER, flags: target.flags });
    const seeds = path.join(HARNESS_DIR, 'corpus', target.name);
    const found = fs.mkdtempSync(path.join(buildDir(), `corpus-${target.name}-`)); // new inputs go here, not into the repository
    const started = Date.now();
    const r = runSanitized(
      fuzzer,
      [`-seed=${SEED}`, `-runs=${target.runs}`, `-max_len=${target.maxLen}`, '-timeout=10', '-print_final_stats=1', `-artifact_prefix=${found}/`, found, seeds],
      { timeoutMs: 120_000 },
    );
    t.equal(r.error, undefined, 'the fuzzer ran (and finished within 120 s)');
    t.equal(r.signal, null, 'no signal');
    t.equal(r.status, 0, `exit 0${r.status ? `: ${r.stderr.slice(-3000)}` : ''}`);
    t.notMatch(r.stderr, REPORT, 'no sanitizer report');
    t.notMatch(r.stderr, /fuzz_\w+: /, 'no broken invariant');
    const executed = Number(/stat::number_of_executed_units: (\d+)/.exec(r.stderr)?.[1] ?? 0);
    t.ok(executed >= target.runs, `${executed} inputs executed`);
    t.ok(fs.readdirSync(seeds).length > 0, 'the committed seeds were read');
    t.comment(`fuzz ${target.name}: ${executed} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}
