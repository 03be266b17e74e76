// Where the package lives, found from this file whether it runs from bench/ (tap) or dist/bench/.
import * as fs from 'node:fs';
import * as path from 'node:path';

export function projectRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'binding.gyp')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no binding.gyp above ${__dirname}`);
  }
}
