// Finding PROGRAM the way execvp will, once: a typo fails at start-up instead of once per
// connection, and spawning the found path spares a PATH search (failed execs) per connection.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** glibc's execvp default when PATH is unset. */
const DEFAULT_PATH = '/bin:/usr/bin';

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The file execvp would run for program, or undefined when there is none. */
export function resolveProgram(program: string, searchPath = process.env.PATH ?? DEFAULT_PATH): string | undefined {
  if (program.includes('/')) return isExecutableFile(program) ? program : undefined;
  for (const dir of searchPath.split(':')) {
    // An empty PATH entry means the current directory; keep a '/' so nobody searches again.
    const candidate = dir === '' ? `./${program}` : path.join(dir, program);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}
