// Compiles the small C programs and libraries tests build from test/helpers/ (probes that
// drive native code, LD_PRELOAD stand-ins) into a directory removed when the process exits.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../../testkit/project-root';

let dir: string | undefined;

/** cc ARGS -o OUTPUT; returns OUTPUT's path. Sources may be given relative to the project root. */
export function compileC(output: string, args: string[]): string {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-cc-'));
    const remove = dir;
    process.once('exit', () => fs.rmSync(remove, { recursive: true, force: true }));
  }
  const file = path.join(dir, output);
  execFileSync('cc', ['-std=gnu11', '-D_GNU_SOURCE', '-O1', '-Wall', '-Wextra', '-Werror', ...args, '-o', file], {
    cwd: projectRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return file;
}
