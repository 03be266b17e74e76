/**
 * Operator-facing log lines on stderr: one line each, as text
 * ("socketbox: error: …") or JSON ({"time","level","msg"}), filtered by level.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold: LogLevel = 'info';
let format: LogFormat = 'text';

export function configureLog(level: LogLevel, fmt: LogFormat): void {
  threshold = level;
  format = fmt;
}

export function logFormat(): LogFormat {
  return format;
}

function write(level: LogLevel, message: string): void {
  if (RANK[level] < RANK[threshold]) return;
  if (format === 'json') {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg: message })}\n`);
  } else {
    process.stderr.write(`socketbox: ${level === 'info' ? '' : `${level}: `}${message}\n`);
  }
}

export const logDebug = (message: string): void => write('debug', message);
export const logInfo = (message: string): void => write('info', message);
export const logWarn = (message: string): void => write('warn', message);
export const logError = (message: string): void => write('error', message);
