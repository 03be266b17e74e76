import * as fs from 'node:fs';

/** Polls cond every 20 ms until it holds or timeoutMs passes (then throws with what). */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * True when a TCP socket is in LISTEN state on port, read from the kernel's
 * tables: a probe connection would itself be accepted and dispatched.
 */
export function isListening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp6', '/proc/net/tcp']) {
    let text = '';
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 3 && cols[1].endsWith(`:${hex}`) && cols[3] === '0A') return true;
    }
  }
  return false;
}

export function waitForListening(port: number, timeoutMs = 10_000): Promise<void> {
  return waitFor(() => isListening(port), timeoutMs, `a listener on port ${port}`);
}

/** Open descriptors of a process, from /proc/PID/fd. */
export function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}
