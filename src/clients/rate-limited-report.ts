// Per-connection complaints, limited: a sender flooding the socket with bad messages must not
// turn into a flood on stderr, where a slow reader would stall the receiving loop.
export interface RateLimit {
  /** Lines allowed per window. */
  lines: number;
  windowMs: number;
}

const DEFAULT_LIMIT: RateLimit = { lines: 20, windowMs: 1000 };

export function rateLimitedReport(
  write: (line: string) => void,
  limit: RateLimit = DEFAULT_LIMIT,
  now: () => number = Date.now,
): (line: string) => void {
  let windowStart = -Infinity;
  let written = 0;
  let suppressed = 0;
  return (line) => {
    const t = now();
    if (t - windowStart >= limit.windowMs) {
      if (suppressed > 0) write(`(${suppressed} similar message(s) suppressed)`);
      windowStart = t;
      written = 0;
      suppressed = 0;
    }
    if (written < limit.lines) {
      written++;
      write(line);
    } else {
      suppressed++;
    }
  };
}
