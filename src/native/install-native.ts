/**
 * npm's install step (scripts/install-native.js): a matching prebuild, or a build from
 * source. A prebuild matches when every product is there and loads here (the addons are
 * required, the libraries preloaded, each in a child process): then it is copied to
 * build/Release, where build-products.ts finds every product, and no compiler is needed.
 * Otherwise, with `npm install --build-from-source`, or in a git checkout (whose C may be
 * newer than its prebuilds), node-gyp builds as before.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILD_PRODUCTS, BuildProduct, findPackageRoot, prebuildDirectory, releaseDirectory } from './build-products';

/** Built only where clang and libbpf-dev are: a build, prebuilt or not, may lack it. */
const OPTIONAL: BuildProduct[] = ['bpfObject'];
const ADDONS: BuildProduct[] = ['serverAddon', 'relayAddon', 'clientAddon'];
const LIBRARIES: BuildProduct[] = ['startupLibrary', 'preloadLibrary'];

/** Why the prebuild in DIR cannot serve here, or undefined when it can. */
export function prebuildProblem(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return `no ${path.basename(dir)} prebuild in the package`;
  const file = (product: BuildProduct): string => path.join(dir, BUILD_PRODUCTS[product]);
  const missing = (Object.keys(BUILD_PRODUCTS) as BuildProduct[]).filter((p) => !OPTIONAL.includes(p) && !fs.existsSync(file(p)));
  if (missing.length > 0) return `missing ${missing.map((p) => BUILD_PRODUCTS[p]).join(', ')}`;
  for (const product of ADDONS) {
    const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file(product))})`], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) return `${BUILD_PRODUCTS[product]} does not load: ${firstLine(r.stderr)}`;
  }
  for (const product of LIBRARIES) {
    // The dynamic loader only warns when a preload fails: any output is the failure.
    const r = spawnSync(process.execPath, ['-e', ''], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, LD_PRELOAD: file(product) } });
    if (r.status !== 0 || r.stderr.trim() !== '') return `${BUILD_PRODUCTS[product]} cannot be preloaded: ${firstLine(r.stderr)}`;
  }
  return undefined;
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '') ?? 'no reason given';
}

/** Copies every file of the prebuild where the loaders look. */
function usePrebuild(dir: string, root: string): void {
  const release = releaseDirectory(root);
  fs.mkdirSync(release, { recursive: true });
  for (const name of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, name), path.join(release, name));
}

/** node-gyp, from npm's own copy (npm puts it on PATH for install scripts). */
export function buildFromSource(root: string): number {
  const r = spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit' });
  if (r.error) console.error(`socketbox: cannot run node-gyp: ${r.error.message}`);
  return r.status ?? 1;
}

export function main(root: string = findPackageRoot(__dirname)): number {
  const target = `${process.platform}-${process.arch}`;
  if (process.env.npm_config_build_from_source === 'true') {
    console.error(`socketbox: --build-from-source: building the native parts for ${target}`);
    return buildFromSource(root);
  }
  if (fs.existsSync(path.join(root, '.git'))) {
    // A checkout: its C may differ from the last `npm run prebuild`.
    console.error(`socketbox: a git checkout: building the native parts for ${target} from source`);
    return buildFromSource(root);
  }
  const dir = prebuildDirectory(root);
  const problem = prebuildProblem(dir);
  if (problem === undefined) {
    usePrebuild(dir, root);
    console.error(`socketbox: using the prebuilt native parts for ${target} (no compiler needed)`);
    return 0;
  }
  console.error(`socketbox: no usable prebuild (${problem}): building the native parts for ${target} from source`);
  return buildFromSource(root);
}
