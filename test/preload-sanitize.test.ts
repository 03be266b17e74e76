/**
 * The LD_PRELOAD library under AddressSanitizer and UBSan, with real daemons and real
 * sockets: native/preload and native/common are built as a sanitized
 * libsocketbox-preload.so in a package root of its own, and every preload test file runs
 * again with its daemons (the probe, python3 http.server, Node, nginx) started under that
 * library (SOCKETBOX_TEST_PRELOAD_ROOT, see test/helpers/preload-probe.ts). Sanitizer
 * reports go to files (log_path), so a report in any daemon is found even where the daemon
 * itself carries on: the run must pass and leave no report.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildDir, buildSanitized, nativeSources, ROOT } from './helpers/sanitizer-build';

// Six test files again, under ASan: longer than the suite's per-file limit (package.json).
t.setTimeout(900_000);

const PRELOAD_TESTS = [
  'test/preload-library-binds.test.ts',
  'test/preload-library-accept.test.ts',
  'test/preload-fail-closed.test.ts',
  'test/preload-dirtool.test.ts',
  'test/preload-http-daemons.test.ts',
  'test/preload-nginx.test.ts',
];

/** A package root whose run-with-socketbox preloads the sanitized library. */
function sanitizedPackageRoot(): string {
  const root = path.join(buildDir(), 'preload-root');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(root, 'build', 'Release'), { recursive: true });
  // ASan's runtime must come first among the preloaded libraries (a daemon such as Node calls
  // intercepted functions before a runtime loaded later could set itself up): the launcher's
  // copy puts gcc's runtimes in front of the library, and changes nothing else.
  const runtimes = ['libasan.so', 'libubsan.so'].map((lib) => spawnSync('gcc', [`-print-file-name=${lib}`], { encoding: 'utf8' }).stdout.trim());
  const launcher = fs.readFileSync(path.join(ROOT, 'bin', 'run-with-socketbox'), 'utf8');
  const preloadLine = 'LD_PRELOAD="$library${LD_PRELOAD:+:$LD_PRELOAD}"';
  if (!launcher.includes(preloadLine)) throw new Error(`bin/run-with-socketbox no longer has the line ${preloadLine}`);
  // The launcher finds the build products through this (build/Release of the root here).
  fs.copyFileSync(path.join(ROOT, 'bin', 'native-dir.sh'), path.join(root, 'bin', 'native-dir.sh'));
  fs.writeFileSync(path.join(root, 'bin', 'run-with-socketbox'), launcher.replace(preloadLine, `LD_PRELOAD="${runtimes.join(':')}:$library\${LD_PRELOAD:+:$LD_PRELOAD}"`), { mode: 0o755 });
  const library = buildSanitized('libsocketbox-preload.so', nativeSources('preload', 'common'), { shared: true, flags: ['-ldl'] });
  fs.copyFileSync(library, path.join(root, 'build', 'Release', 'libsocketbox-preload.so'));
  return root;
}

t.test('every preload test passes with the library under ASan and UBSan, and no sanitizer reports anything', async (t) => {
  const root = sanitizedPackageRoot();
  const reports = path.join(buildDir(), 'preload-reports');
  fs.mkdirSync(reports);
  const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tap'), ['--jobs', '1', '--reporter', 'tap', ...PRELOAD_TESTS], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 840_000,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      // A tap run of its own, not a child of this one (tap's variables would make it report as a subtest).
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TAP|_TAPJS)/.test(k))),
      SOCKETBOX_TEST_PRELOAD_ROOT: root,
      // Leaks are not checked: the daemons' own (python, nginx, Node) would be reported.
      ASAN_OPTIONS: `detect_leaks=0:halt_on_error=1:abort_on_error=1:strict_string_checks=1:log_path=${reports}/asan`,
      UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:log_path=${reports}/ubsan`,
    },
  });
  const summary = /# \{ total: (\d+), pass: (\d+)(, fail: (\d+))?/.exec(r.stdout);
  t.equal(r.status, 0, `the preload tests pass under the sanitized library:\n${r.stdout.split('\n').filter((l) => /not ok/.test(l)).join('\n')}`);
  t.ok(summary && Number(summary[1]) > 100 && summary[1] === summary[2], `every assertion passed: ${summary?.[0]}`);
  const found = fs.readdirSync(reports);
  t.same(found, [], `no sanitizer report: ${found.map((f) => fs.readFileSync(path.join(reports, f), 'utf8')).join('\n')}`);
});

t.test('the daemons really ran with the sanitized library', async (t) => {
  const root = path.join(buildDir(), 'preload-root');
  // A process started the way the tests start their daemons maps the sanitized library and the runtime.
  const r = spawnSync(path.join(root, 'bin', 'run-with-socketbox'), ['cat', '/proc/self/maps'], {
    encoding: 'utf8',
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' },
  });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, path.join(root, 'build', 'Release', 'libsocketbox-preload.so'));
  t.match(r.stdout, /libasan\.so/);
  t.match(r.stdout, /libubsan\.so/);
});
