/**
 * The install step's choice (src/native/install-native.ts): a prebuild serves only when
 * every product is there and loads here; otherwise, or with --build-from-source, node-gyp
 * rebuilds. Checked on copies of this checkout's build with one product missing or
 * broken, and with a stand-in node-gyp on PATH that records how it was called.
 * (test/install-without-compiler.test.ts installs the real package.)
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from '../testkit/temp-dir';
import { projectRoot } from '../testkit/project-root';
import { BUILD_PRODUCTS, prebuildDirectory, releaseDirectory } from '../src/native/build-products';
import { main, prebuildProblem } from '../src/native/install-native';

const { dir } = tempDir('skbox-install-native-');
let copies = 0;

/** A package root (binding.gyp) whose prebuild is a copy of this checkout's build, then CHANGE. */
function packageWithPrebuild(change: (prebuild: string) => void = () => undefined): string {
  const root = path.join(dir, `package-${++copies}`);
  const prebuild = prebuildDirectory(root);
  fs.mkdirSync(prebuild, { recursive: true });
  fs.writeFileSync(path.join(root, 'binding.gyp'), '{}');
  for (const name of Object.values(BUILD_PRODUCTS)) {
    const built = path.join(releaseDirectory(projectRoot), name);
    if (fs.existsSync(built)) fs.copyFileSync(built, path.join(prebuild, name));
  }
  change(prebuild);
  return root;
}

/** main() with a node-gyp on PATH that only records its arguments; returns its status and the record. */
function install(root: string, env: Record<string, string> = {}): { status: number; nodeGyp: string | undefined } {
  const fakeBin = path.join(root, 'fake-bin');
  fs.mkdirSync(fakeBin, { recursive: true });
  const record = path.join(root, 'node-gyp-called');
  fs.writeFileSync(path.join(fakeBin, 'node-gyp'), `#!/bin/sh\necho "$@" > ${record}\n`, { mode: 0o755 });
  const saved = { ...process.env };
  Object.assign(process.env, { PATH: `${fakeBin}:${process.env.PATH}`, ...env });
  try {
    const status = main(root);
    return { status, nodeGyp: fs.existsSync(record) ? fs.readFileSync(record, 'utf8').trim() : undefined };
  } finally {
    process.env = saved;
  }
}

t.test('a complete prebuild that loads is used as is: copied where the loaders look, nothing built', async (t) => {
  const root = packageWithPrebuild();
  t.equal(prebuildProblem(prebuildDirectory(root)), undefined, 'no problem with the prebuild');
  const r = install(root);
  t.same(r, { status: 0, nodeGyp: undefined }, 'node-gyp is not run');
  for (const name of fs.readdirSync(prebuildDirectory(root))) {
    t.same(fs.readFileSync(path.join(root, 'build', 'Release', name)), fs.readFileSync(path.join(prebuildDirectory(root), name)), `build/Release/${name} is the prebuilt one`);
  }
});

t.test('no prebuild, a missing product, an addon or a library that does not load: node-gyp rebuild', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['no prebuild for this platform', packageWithPrebuild((p) => fs.rmSync(p, { recursive: true })), /^no linux-x64 prebuild in the package$/],
    ['a missing addon', packageWithPrebuild((p) => fs.rmSync(path.join(p, BUILD_PRODUCTS.relayAddon))), /^missing socketbox_relay\.node$/],
    ['an addon that does not load', packageWithPrebuild((p) => fs.writeFileSync(path.join(p, BUILD_PRODUCTS.serverAddon), 'not ELF')), /^socketbox_server\.node does not load: /],
    ['a library that cannot be preloaded', packageWithPrebuild((p) => fs.truncateSync(path.join(p, BUILD_PRODUCTS.preloadLibrary), 100)), /^libsocketbox-preload\.so cannot be preloaded: /],
  ];
  for (const [what, root, why] of cases) {
    t.match(prebuildProblem(prebuildDirectory(root)), why, `${what}: says why`);
    t.same(install(root), { status: 0, nodeGyp: 'rebuild' }, `${what}: builds from source`);
    t.notOk(fs.existsSync(path.join(root, 'build', 'Release', BUILD_PRODUCTS.clientAddon)), `${what}: nothing copied`);
  }
});

t.test('--build-from-source, or a git checkout, builds even with a good prebuild', async (t) => {
  const root = packageWithPrebuild();
  t.same(install(root, { npm_config_build_from_source: 'true' }), { status: 0, nodeGyp: 'rebuild' }, '--build-from-source: node-gyp rebuild');
  const checkout = packageWithPrebuild((p) => fs.mkdirSync(path.join(p, '..', '..', '.git')));
  t.same(install(checkout), { status: 0, nodeGyp: 'rebuild' }, 'a checkout (.git): node-gyp rebuild');
});
