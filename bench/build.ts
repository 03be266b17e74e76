// Compiles the benchmark's C programs (bench/c/*.c) with `cc -O2` into bench/bin/ or a given
// directory. A program is rebuilt only when its source is newer, and each one is written under a
// temporary name and renamed, so a run that is using the old binary is never disturbed.
//   node dist/bench/build.js [OUT_DIR]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../testkit/project-root';

export interface BenchPrograms {
  loadgen: string;
  floorServer: string;
  receiver: string;
  coldClient: string;
  activatedFloor: string;
}

const SOURCES: Record<keyof BenchPrograms, string> = {
  loadgen: 'loadgen',
  floorServer: 'floor_server',
  receiver: 'receiver',
  coldClient: 'cold_client',
  activatedFloor: 'activated_floor',
};

export const defaultBinDir = (): string => path.join(projectRoot, 'bench', 'bin');

/** Native sources a program links besides its own (the floor's -R speaks the registration protocol). */
const SHARED: Partial<Record<keyof BenchPrograms, string[]>> = {
  floorServer: ['native/common/registration_client.c', 'native/common/fd_send.c', 'native/common/unix_address.c'],
};

function isStale(binary: string, sources: string[]): boolean {
  return !fs.existsSync(binary) || sources.some((source) => fs.statSync(binary).mtimeMs < fs.statSync(source).mtimeMs);
}

function compile(sources: string[], binary: string): void {
  const scratch = `${binary}.tmp-${process.pid}`;
  try {
    const include = path.join(projectRoot, 'native');
    execFileSync('cc', ['-O2', '-std=gnu11', '-Wall', '-Wextra', '-I', include, '-o', scratch, ...sources], { stdio: 'inherit' });
    fs.renameSync(scratch, binary);
  } finally {
    fs.rmSync(scratch, { force: true });
  }
}

export function buildBenchPrograms(outDir: string = defaultBinDir()): BenchPrograms {
  const sourceDir = path.join(projectRoot, 'bench', 'c');
  fs.mkdirSync(outDir, { recursive: true });
  const built = {} as BenchPrograms;
  for (const [key, name] of Object.entries(SOURCES) as [keyof BenchPrograms, string][]) {
    const sources = [path.join(sourceDir, `${name}.c`), ...(SHARED[key] ?? []).map((f) => path.join(projectRoot, f))];
    const binary = path.join(outDir, name);
    if (isStale(binary, sources)) compile(sources, binary);
    built[key] = binary;
  }
  return built;
}

if (require.main === module) {
  const programs = buildBenchPrograms(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  for (const binary of Object.values(programs)) console.log(binary);
}
