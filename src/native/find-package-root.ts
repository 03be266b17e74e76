import * as fs from 'node:fs';
import * as path from 'node:path';

/** The directory holding binding.gyp: the same answer from src/ (tests) and dist/src/ (installed). */
export function findPackageRoot(start: string = __dirname): string {
  let dir = start;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'binding.gyp'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`socketbox: cannot find the package root above ${start}`);
    dir = parent;
  }
}
