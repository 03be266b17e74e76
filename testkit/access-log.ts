// socketbox's access log in JSON (--access-log --log-format json): one line per connection, among
// socketbox's other log lines on stderr. Read by tests and by bench/latency-breakdown.ts.

/** One connection's line; the fields native/server/access_log.c writes. */
export interface AccessLogEntry {
  time: string;
  event: 'connection';
  remote: string;
  local: string;
  target: string;
  outcome: string;
  /** accept → handed over (or refused), µs */
  latency_us: number;
}

/** The access log's entries in text, in the order they were written; other lines are skipped. */
export function accessLogEntries(text: string): AccessLogEntry[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"event":"connection"'))
    .map((line) => JSON.parse(line) as AccessLogEntry);
}
