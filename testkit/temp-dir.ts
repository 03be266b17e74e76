// A scratch directory for one test file's sockets, configs and records.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface TempDir {
  dir: string;
  remove: () => void;
}

/** A fresh directory under the system's temporary one, removed by remove() or else when the process exits. */
export function tempDir(prefix = 'skbox-test-'): TempDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  process.once('exit', remove);
  return { dir, remove };
}
