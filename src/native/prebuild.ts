/**
 * `npm run prebuild`: after `npm run build`, copies every build product to
 * prebuilds/PLATFORM-ARCH/ (build-products.ts names both), which `npm pack` ships and
 * an install uses instead of compiling (install-native.ts). A prebuild is made for
 * machines that may lack what the build host has, so it is refused unless every
 * product is there (the fast path too: build where clang and libbpf-dev are) and
 * each shared object needs only the C and C++ runtimes (libbpf is opened at run time).
 * Other targets: run it on a host of that target (docs/packaging.md).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILD_PRODUCTS, BuildProduct, findPackageRoot, prebuildDirectory, releaseDirectory } from './build-products';

/** What every Linux with Node has: the C and C++ runtimes and the dynamic loader. */
const BASE_LIBRARIES = /^(linux-vdso|libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|ld-linux[-\w]*)\.so(\.[\d.]+)?$/;

/** The shared libraries FILE needs beyond the base ones (ldd's names). */
export function extraLibraries(file: string): string[] {
  return execFileSync('ldd', [file], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name) => name && !BASE_LIBRARIES.test(path.basename(name)));
}

export function main(root: string = findPackageRoot(__dirname)): number {
  const problems: string[] = [];
  for (const product of Object.keys(BUILD_PRODUCTS) as BuildProduct[]) {
    const file = path.join(releaseDirectory(root), BUILD_PRODUCTS[product]);
    if (!fs.existsSync(file)) problems.push(`${BUILD_PRODUCTS[product]} is not built (the fast path needs clang and libbpf-dev)`);
    else if (!file.endsWith('.o')) {
      const extra = extraLibraries(file);
      if (extra.length > 0) problems.push(`${BUILD_PRODUCTS[product]} needs ${extra.join(', ')}`);
    }
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`prebuild: ${p}`);
    return 1;
  }
  const dir = prebuildDirectory(root);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const product of Object.keys(BUILD_PRODUCTS) as BuildProduct[]) {
    fs.copyFileSync(path.join(releaseDirectory(root), BUILD_PRODUCTS[product]), path.join(dir, BUILD_PRODUCTS[product]));
  }
  console.log(`prebuild: ${Object.keys(BUILD_PRODUCTS).length} products in ${path.relative(root, dir)}/`);
  return 0;
}
