// Where the package lives, found from this file whether it runs from testkit/ (tap, ts-node) or
// from dist/testkit/ (the compiled bench and load runs).
import * as fs from 'node:fs';
import * as path from 'node:path';

function findProjectRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'binding.gyp')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no binding.gyp above ${__dirname}`);
  }
}

export const projectRoot = findProjectRoot();

/** One of the package's programs, bin/NAME (they load the compiled dist/). */
export const binPath = (name: string): string => path.join(projectRoot, 'bin', name);
