// Builds the native C parts with AddressSanitizer + UBSan (gcc) or as libFuzzer targets
// (clang), together with a harness from test/native/, and runs them with the options that
// make any report fatal. A missing compiler or runtime fails loudly: these runs are the
// point of the tests that use them (Debian: gcc brings libasan8/libubsan1; clang-14 and
// libclang-rt-14-dev bring libFuzzer).
import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const HARNESS_DIR = path.join(ROOT, 'test', 'native');

export const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'];
/** Any of these on stderr is a sanitizer report, whatever the exit status says. */
export const REPORT = /AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer|SUMMARY:/;
export const SANITIZER_ENV = {
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};

/**
 * Every C file of the named native/ directories: a file added to a directory is built
 * with the harnesses without touching the tests.
 */
export function nativeSources(...dirs: string[]): string[] {
  return dirs.flatMap((d) =>
    fs
      .readdirSync(path.join(ROOT, 'native', d))
      .filter((f) => f.endsWith('.c'))
      .sort()
      .map((f) => path.join(ROOT, 'native', d, f)),
  );
}

/**
 * The fast path the registrar calls, as a build without its toolchain has it (no BPF, no
 * libbpf: native/fastpath/off): listener-mode registrations are granted without a listener.
 */
export const FASTPATH_OFF = ['fastpath/listener_grant.c', 'fastpath/off/fastpath_off.c'].map((f) => path.join(ROOT, 'native', f));

/** Files of test/native/ by name. */
export const harnessSources = (...names: string[]): string[] => names.map((n) => path.join(HARNESS_DIR, n));

let outputDir: string | undefined;

/** A directory for build outputs, removed when the test process exits. */
export function buildDir(): string {
  if (!outputDir) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-sanitized-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    outputDir = dir;
  }
  return outputDir;
}

export interface BuildOptions {
  compiler?: string;
  /** Flags in place of the ASan/UBSan ones (a fuzzer build passes its own). */
  sanitize?: string[];
  shared?: boolean;
  /** Extra flags and libraries. */
  flags?: string[];
}

/** Compiles sources into buildDir()/name; throws with the compiler's output on failure. */
export function buildSanitized(name: string, sources: string[], options: BuildOptions = {}): string {
  const output = path.join(buildDir(), name);
  const compiler = options.compiler ?? 'cc';
  const args = [
    '-std=gnu11',
    '-D_GNU_SOURCE',
    '-O1',
    '-g',
    ...(options.sanitize ?? SANITIZE),
    '-Wall',
    '-Wextra',
    '-Wno-unused-parameter',
    '-Wno-missing-field-initializers',
    '-I',
    path.join(ROOT, 'native'),
    '-I',
    HARNESS_DIR,
    ...(options.shared ? ['-shared', '-fPIC'] : []),
    '-o',
    output,
    ...sources,
    '-pthread',
    ...(options.flags ?? []),
  ];
  const r = spawnSync(compiler, args, { encoding: 'utf8', timeout: 180_000 });
  if (r.error || r.status !== 0) {
    throw new Error(
      `building ${name} with ${compiler} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}); ` +
        `${compiler === 'cc' ? 'gcc with libasan and libubsan' : 'clang 14 with libclang-rt-14-dev (libFuzzer)'} is required:\n${r.stderr}`,
    );
  }
  return output;
}

/** Runs a sanitized program with reports made fatal. */
export function runSanitized(
  program: string,
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string>; cwd?: string } = {},
): SpawnSyncReturns<string> {
  return spawnSync(program, args, {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
    cwd: options.cwd,
    env: { ...process.env, ...SANITIZER_ENV, ...options.env },
  });
}

/** The last line of stdout as JSON (the harnesses' figures, or their error). */
export function lastJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
  } catch {
    return { unparsable: stdout };
  }
}
