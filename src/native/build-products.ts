/**
 * Where socketbox finds what `npm run build` (node-gyp, binding.gyp) produces: the addons,
 * the fast path's BPF object and the preloaded libraries. One answer from src/ (tests
 * under tap's TypeScript loader) and from the compiled dist/src/ (installed). An install
 * from the package puts a matching prebuild there instead of building (install-native.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Each build product by its file name in build/Release/ (binding.gyp's targets). */
export const BUILD_PRODUCTS = {
  /** native/server_addon.cc: listeners, privileges, accept loops, registrations, fast path. */
  serverAddon: 'socketbox_server.node',
  /** native/relay_addon.cc: socketbox-relay's loop. */
  relayAddon: 'socketbox_relay.node',
  /** native/client_addon.cc: socketbox-inetd, send-receive-fd, socket-query. */
  clientAddon: 'socketbox_client.node',
  /** native/fastpath/bpf/sk_lookup.bpf.c: only where clang -target bpf and libbpf are. */
  bpfObject: 'socketbox_sk_lookup.bpf.o',
  /** native/startup/: preloaded by bin/socketbox. */
  startupLibrary: 'libsocketbox-startup.so',
  /** native/preload/: preloaded by bin/run-with-socketbox. */
  preloadLibrary: 'libsocketbox-preload.so',
} as const;

export type BuildProduct = keyof typeof BUILD_PRODUCTS;

/** The directory holding binding.gyp. */
export function findPackageRoot(start: string = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`socketbox: cannot find the package root above ${start}`);
  }
}

/** Where node-gyp builds the products, and where an install puts a matching prebuild. */
export function releaseDirectory(root: string = findPackageRoot()): string {
  return path.join(root, 'build', 'Release');
}

/** Where `npm run prebuild` puts the products for this platform, in the package. */
export function prebuildDirectory(root: string = findPackageRoot()): string {
  return path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
}

/**
 * Where the products are: build/Release when it holds them (built, or a prebuild the install
 * put there), else this platform's prebuild where the package carries it (an install that ran
 * no scripts: npm --ignore-scripts). bin/native-dir.sh makes the same choice for bin/.
 */
export function productDirectory(root: string = findPackageRoot()): string {
  const release = releaseDirectory(root);
  if (fs.existsSync(path.join(release, BUILD_PRODUCTS.serverAddon))) return release;
  const prebuilt = prebuildDirectory(root);
  return fs.existsSync(path.join(prebuilt, BUILD_PRODUCTS.serverAddon)) ? prebuilt : release;
}

/** The path of a build product, whether it was built or not. */
export function buildProductPath(product: BuildProduct, root: string = findPackageRoot()): string {
  return path.join(productDirectory(root), BUILD_PRODUCTS[product]);
}

const loaded = new Map<BuildProduct, unknown>();

/** An addon, loaded once per thread; T is the interface its module declares. */
export function loadAddon<T>(product: 'serverAddon' | 'relayAddon' | 'clientAddon'): T {
  if (!loaded.has(product)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded.set(product, require(buildProductPath(product)));
  }
  return loaded.get(product) as T;
}
