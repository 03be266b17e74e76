/**
 * The project's programs run as another uid (nobody) in tests. A checkout under
 * a private home directory is not readable by that uid: then the program files
 * (bin/, dist/src/, the native build, binding.gyp, package.json) are copied once
 * to a world-readable temporary directory and the program runs from there.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { binPath, projectRoot } from '../../testkit/project-root';

/** Whether uid can read (and so run) the file where it is. */
function readableBy(uid: number, file: string): boolean {
  return spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'test', '-r', file]).status === 0;
}

let copy: string | undefined;

function worldReadableCopy(): string {
  if (!copy) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-programs-'));
    fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
    fs.cpSync(path.join(projectRoot, 'bin'), path.join(dir, 'bin'), { recursive: true });
    fs.cpSync(path.join(projectRoot, 'dist', 'src'), path.join(dir, 'dist', 'src'), { recursive: true });
    for (const file of fs.readdirSync(path.join(projectRoot, 'build', 'Release')).filter((f) => /\.(node|so)$/.test(f)))
      fs.copyFileSync(path.join(projectRoot, 'build', 'Release', file), path.join(dir, 'build', 'Release', file));
    for (const file of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(projectRoot, file), path.join(dir, file));
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    copy = dir;
  }
  return copy;
}

/** bin/NAME as uid may run it: in place when the checkout is readable by uid, else from the copy. */
export function programFor(uid: number, name: string): string {
  const inPlace = binPath(name);
  if (uid === 0 || readableBy(uid, path.join(projectRoot, 'dist', 'src', 'main.js'))) return inPlace;
  return path.join(worldReadableCopy(), 'bin', name);
}
