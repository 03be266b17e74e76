/**
 * Every contract between the native code and TypeScript has one home and both sides agree
 * on it (docs/data-path.md#counters-and-metrics). The counter layouts and the names
 * operators see are the X(...) lists of native/server/stats.h, registrar.h and
 * fastpath/fastpath_abi.h: what the compiled addon exports (nativeContracts), what the
 * build-time generator reads from the headers, the generated module on disk and the
 * constants the rest of the code imports must all be the same. The build products are
 * where binding.gyp and bin/ put them. access-log-outcomes.test.ts drives the outcome
 * words end to end.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILD_PRODUCTS, buildProductPath, findPackageRoot } from '../src/native/build-products';
import { FASTPATH_DECISIONS } from '../src/native/contracts.generated';
import { serverAddon, type NativeContracts } from '../src/native/server-addon';
import { REGISTRAR_STAT, REGISTRAR_STAT_COUNT, REGISTRATION_REFUSALS } from '../src/server/registrar-stats';
import {
  ERRNO_COUNTERS,
  LATENCY_BOUNDS_US,
  REFUSAL_REASONS,
  STAT,
  STAT_COUNT,
  TARGET_SLOTS,
  TARGET_STAT_COUNT,
  targetDelivered,
  targetPending,
} from '../src/server/stats-layout';

interface Generator {
  OUTPUT: string;
  camelCase(name: string): string;
  readNativeContracts(): NativeContracts;
  renderTypeScript(contracts: NativeContracts): string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const generator = require('../scripts/native-contracts') as Generator;

const root = findPackageRoot();
const compiled = serverAddon().nativeContracts;
const byName = <E extends { name: string; index: number }>(entries: E[]) => Object.fromEntries(entries.map((e) => [generator.camelCase(e.name), e.index]));

t.test('the headers as the generator reads them are what the addon was compiled with', async (t) => {
  t.same(generator.readNativeContracts(), compiled);
});

t.test('the generated module is up to date with the headers', async (t) => {
  const onDisk = fs.readFileSync(path.join(root, generator.OUTPUT), 'utf8');
  t.equal(onDisk, generator.renderTypeScript(generator.readNativeContracts()), 'run npm run build after changing a list');
});

t.test('per-loop counters: layout, latency bounds, errno block, target slots', async (t) => {
  t.same(STAT, byName(compiled.stats), 'STAT: every counter at its index');
  t.equal(STAT_COUNT, compiled.statCount);
  t.equal(serverAddon().statCount, STAT_COUNT, 'what createLoop checks');
  t.same(LATENCY_BOUNDS_US, compiled.latencyBoundsUs);
  const width = (name: string) => compiled.stats.find((e) => e.name === name)?.width;
  t.equal(width('LATENCY_BUCKETS'), LATENCY_BOUNDS_US.length + 1, 'one bucket per bound and +Inf');
  t.equal(ERRNO_COUNTERS, width('ACCEPT_ERRNO'));
  t.equal(TARGET_SLOTS, compiled.targetSlots);
  t.equal(serverAddon().targetSlots, TARGET_SLOTS);
  t.equal(TARGET_STAT_COUNT, compiled.targetStats.length);
  t.same([targetDelivered(7), targetPending(7)], ['DELIVERED', 'PENDING'].map((name) => 7 * compiled.targetStats.length + compiled.targetStats.indexOf(name)));
});

t.test('outcome words: the access log writes the labels the metrics use', async (t) => {
  // nativeContracts takes each label from skbox_stat_label, which the access log calls.
  const refused = compiled.stats.filter((e) => e.outcome === 'REFUSED');
  t.same(REFUSAL_REASONS, refused.map((e) => [e.label, e.index]), 'REFUSAL_REASONS: reason and counter, in order');
  t.same(compiled.stats.filter((e) => e.outcome === 'DELIVERED').map((e) => e.label), ['delivered']);
  t.equal(new Set(refused.map((e) => e.label)).size, refused.length, 'no two reasons share a word');
  t.ok(refused.every((e) => /^[a-z_]+$/.test(e.label)), 'reasons are words a label and a log line can carry');
  t.same(compiled.stats.filter((e) => e.outcome === 'NONE' && e.label !== ''), [], 'other counters have no outcome word');
});

t.test("the registrar's counters and refusal reasons", async (t) => {
  t.same(REGISTRAR_STAT, byName(compiled.registrarStats));
  t.equal(REGISTRAR_STAT_COUNT, compiled.registrarStats.length);
  t.equal(serverAddon().registrarStatCount, REGISTRAR_STAT_COUNT, 'what serve checks');
  t.same(REGISTRATION_REFUSALS, compiled.registrarStats.filter((e) => e.outcome === 'REFUSED').map((e) => [e.label, e.index]));
});

t.test("the fast path's decision names", async (t) => {
  t.same(FASTPATH_DECISIONS, compiled.fastpathDecisions.map((e) => e.label));
  t.same(compiled.fastpathDecisions.map((e) => e.index), FASTPATH_DECISIONS.map((_, i) => i), 'in counter order');
  t.same(Object.keys(serverAddon().fastpathCounters().decisions), [...FASTPATH_DECISIONS], 'the names fastpathCounters() reports');
});

t.test('build products: binding.gyp builds them, bin/ preloads them by the same names', async (t) => {
  const gyp = JSON.parse(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')) as { targets: Array<{ target_name: string; product_name?: string }> };
  const outputs = gyp.targets.map((target) => target.product_name ?? target.target_name);
  for (const [product, file] of Object.entries(BUILD_PRODUCTS)) {
    const stem = file.replace(/\.(node|so)$/, '');
    if (product === 'bpfObject') t.match(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8'), `<(PRODUCT_DIR)/${file}`, `${file}: the BPF action's output`);
    else t.ok(outputs.includes(stem), `${file}: a binding.gyp target`);
  }
  for (const product of ['serverAddon', 'relayAddon', 'clientAddon', 'startupLibrary', 'preloadLibrary'] as const)
    t.ok(fs.existsSync(buildProductPath(product)), `${BUILD_PRODUCTS[product]} is built`);
  t.match(fs.readFileSync(path.join(root, 'bin', 'socketbox'), 'utf8'), `$native/${BUILD_PRODUCTS.startupLibrary}`);
  t.match(fs.readFileSync(path.join(root, 'bin', 'run-with-socketbox'), 'utf8'), `$native/${BUILD_PRODUCTS.preloadLibrary}`);
  // bin/native-dir.sh sets $native as build-products.ts chooses: build/Release, else the prebuild.
  const nativeDir = fs.readFileSync(path.join(root, 'bin', 'native-dir.sh'), 'utf8');
  t.match(nativeDir, `native=$root/build/Release\nif [ ! -f "$native/${BUILD_PRODUCTS.serverAddon}" ]`, 'build/Release when it holds the server addon');
  t.match(nativeDir, `"$root/prebuilds/linux-$arch/${BUILD_PRODUCTS.serverAddon}"`, 'else the prebuild');
});
