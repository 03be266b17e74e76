// Writing to stdout/stderr by descriptor, never through process.stdout/process.stderr.
// Those streams would put the descriptor into libuv's hands and may change its O_NONBLOCK
// flag, which is shared with every process holding the same file (for socket-query run from
// an inetd child, fd 1 is the client's connection, shared with the shell and its commands).
import * as fs from 'node:fs';

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of text to fd; waits out EAGAIN (someone else made the file non-blocking). */
export function writeAllSync(fd: number, text: string): void {
  let data = Buffer.from(text);
  while (data.length > 0) {
    try {
      const n = fs.writeSync(fd, data);
      data = data.subarray(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** A line on stderr; a broken stderr is not worth dying for. */
export function warn(line: string): void {
  try {
    writeAllSync(2, line.endsWith('\n') ? line : line + '\n');
  } catch {
    /* nowhere left to report to */
  }
}
