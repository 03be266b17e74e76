/**
 * Operator-facing log lines on stderr: one line each, as text
 * ("socketbox: error: …") or JSON ({"time","level","msg"}), filtered by level.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: LogLevel = 'info';
let format: LogFormat = 'text';
/** Where lines go once the server has a sink that never blocks; until then process.stderr. */
let sink: ((line: string) => void) | undefined;

export function configureLog(level: LogLevel, fmt: LogFormat): void {
  threshold = level;
  format = fmt;
}

export function logFormat(): LogFormat {
  return format;
}

/**
 * Send every further line to write instead of process.stderr, which on a pipe
 * or socket nobody reads would queue lines in memory without bound (and on a
 * terminal block): the server's native sink drops and counts what stderr
 * cannot take at once.
 */
export function sendLogLinesTo(write: (line: string) => void): void {
  sink = write;
}

/**
 * Repeated warnings and errors are rate limited: the same message at most
 * BURST times per WINDOW_MS, then one line saying how many were suppressed,
 * so a flood of failures cannot flood the log.
 */
const WINDOW_MS = 10_000;
const BURST = 5;
const recent = new Map<string, { since: number; count: number; suppressed: number }>();

function allowed(level: LogLevel, message: string): boolean {
  if (level === 'debug' || level === 'info') return true;
  const now = Date.now();
  const key = message.replace(/\d+/g, '#'); // "worker 3 failed after 120 ms" and "worker 4 …" are one kind
  const entry = recent.get(key);
  if (!entry || now - entry.since >= WINDOW_MS) {
    if (entry && entry.suppressed > 0) emit(level, `(${entry.suppressed} more like "${message}" suppressed in the last ${WINDOW_MS / 1000} s)`);
    recent.set(key, { since: now, count: 1, suppressed: 0 });
    if (recent.size > 1000) recent.clear(); // bounded memory whatever the messages
    return true;
  }
  if (++entry.count <= BURST) return true;
  entry.suppressed++;
  return false;
}

function write(level: LogLevel, message: string): void {
  if (RANK[level] < RANK[threshold]) return;
  if (allowed(level, message)) emit(level, message);
}

function emit(level: LogLevel, message: string): void {
  const line =
    format === 'json'
      ? `${JSON.stringify({ time: new Date().toISOString(), level, msg: message })}\n`
      : `socketbox: ${level === 'info' ? '' : `${level}: `}${message}\n`;
  if (sink) sink(line);
  else process.stderr.write(line);
}

export const logDebug = (message: string): void => write('debug', message);
export const logInfo = (message: string): void => write('info', message);
export const logWarn = (message: string): void => write('warn', message);
export const logError = (message: string): void => write('error', message);

/** "1 worker", "2 workers": a count and its noun, for log lines. */
export const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
