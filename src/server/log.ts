/** Operator-facing messages on stderr, one line each, prefixed with the program name. */
export function logInfo(message: string): void {
  process.stderr.write(`socketbox: ${message}\n`);
}

export function logError(message: string): void {
  process.stderr.write(`socketbox: error: ${message}\n`);
}
