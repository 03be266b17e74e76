/**
 * The package as a user gets it: `npm pack` of this checkout (with its prebuilds) and
 * `npm install -g` of the tarball into a temporary prefix, with no compiler reachable
 * (PATH = a directory of the few tools the programs need; CC/CXX = false) and libbpf
 * and libelf hidden (/dev/null mounted over them, in a mount namespace of the command's
 * own), so what runs is what a machine without a toolchain or libbpf1 would run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../../testkit/project-root';
import { main as prebuild } from '../../src/native/prebuild';

/** What the installed programs and the test's receivers run, and nothing else. */
const TOOLS = ['node', 'sh', 'readlink', 'dirname', 'uname', 'python3'];
/** None of them may be found on the PATH the install and the programs get. */
export const COMPILERS = ['cc', 'gcc', 'g++', 'c++', 'cpp', 'clang', 'make', 'ld'];
/** The shared libraries the fast path opens, hidden from every command run here. */
const HIDDEN_LIBRARIES = ['libbpf.so.1', 'libelf.so.1'];

/** One `npm install -g` of the tarball: its prefix, exit status and output. */
export interface Install {
  prefix: string;
  status: number | null;
  log: string;
}

export interface Installed extends Install {
  tools: string;
  tarball: string;
  /** The files /dev/null was mounted over. */
  hidden: string[];
  /** The same tarball installed with --ignore-scripts: the programs find the prebuild where it lies. */
  withoutScripts: Install;
}

/** A program of the system (Debian's packages), not of a version manager's shims. */
function which(program: string): string {
  return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin:/usr/sbin:/sbin' } }).trim();
}

/** The real files of the libraries to hide (ldconfig's cache names them). */
function libraryFiles(): string[] {
  const cache = execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' });
  const files = HIDDEN_LIBRARIES.flatMap((name) => [...cache.matchAll(new RegExp(`^\\s*${name.replace(/\./g, '\\.')} \\(.*\\) => (\\S+)$`, 'gm'))].map((m) => m[1]));
  return [...new Set(files.map((f) => fs.realpathSync(f)))];
}

/** The environment of a user without a compiler. */
export function noCompilerEnv(installed: Pick<Installed, 'tools'>, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: installed.tools, CC: 'false', CXX: 'false', ...extra };
  delete env.npm_config_build_from_source;
  delete env.LD_PRELOAD;
  return env;
}

/** argv run in a mount namespace of its own where the hidden libraries read as empty files. */
export function withoutLibbpf(hidden: string[], argv: string[]): string[] {
  const mounts = hidden.map((f) => `${which('mount')} --bind /dev/null ${f} || exit 97;`).join(' ');
  return [which('unshare'), '-m', '--', which('sh'), '-c', `${mounts} exec "$@"`, 'sh', ...argv];
}

/** Packs this checkout's build (prebuilds included) and installs it into a fresh prefix under DIR. */
export function packAndInstall(dir: string): Installed {
  if (prebuild(projectRoot) !== 0) throw new Error('npm run prebuild failed: the checkout must be fully built (clang and libbpf-dev)');
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: projectRoot, stdio: 'ignore', timeout: 60_000 });
  const tarball = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.tgz')) ?? 'missing.tgz');
  const tools = path.join(dir, 'tools');
  fs.mkdirSync(tools);
  for (const tool of TOOLS) fs.symlinkSync(which(tool), path.join(tools, tool));
  const hidden = libraryFiles();
  const npm = fs.realpathSync(which('npm'));
  const install = (prefix: string, ...flags: string[]): Install => {
    const argv = [process.execPath, npm, 'install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', ...flags, tarball];
    const cmd = withoutLibbpf(hidden, argv);
    const r = spawnSync(cmd[0], cmd.slice(1), { cwd: dir, encoding: 'utf8', env: noCompilerEnv({ tools }), timeout: 120_000 });
    return { prefix, status: r.status, log: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
  };
  const withScripts = install(path.join(dir, 'prefix'));
  return { ...withScripts, tools, tarball, hidden, withoutScripts: install(path.join(dir, 'prefix-no-scripts'), '--ignore-scripts') };
}
