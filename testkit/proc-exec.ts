// Which program a process runs, from /proc/PID/exe: for waiting until a forked child has exec'd.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { processState } from './proc-stat';
import { waitFor } from './wait';

/** The file name of the program pid runs; undefined once pid is gone (or not ours to look at). */
export function programName(pid: number): string | undefined {
  try {
    return path.basename(fs.readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return undefined;
  }
}

/**
 * Waits until pid runs the program named name. With `sleeping`, also until it sleeps in it
 * (blocked reading): the exe link changes before exec closes the close-on-exec descriptors, so
 * the name alone is too early for counting descriptors.
 */
export function waitForExec(pid: number, name: string, opts: { sleeping?: boolean } = {}): Promise<void> {
  return waitFor(`pid ${pid} to exec ${name}${opts.sleeping ? ' and wait in it' : ''}`, () => {
    try {
      return programName(pid) === name && (!opts.sleeping || processState(pid) === 'S');
    } catch {
      return false;
    }
  });
}
