// How the client programs end: a usage error prints the message and the usage and exits 2,
// any other failure prints "PROGRAM: message" and exits 1 (what a shell user expects).
import { warn } from './write-fd';

/** A mistake on the command line. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs main with the command-line arguments. A number returned is the exit status (set
 * without cutting the event loop short); undefined means main left work running.
 */
export function runProgram(name: string, usage: string, main: (args: string[]) => number | undefined): void {
  try {
    const status = main(process.argv.slice(2));
    if (status !== undefined) process.exitCode = status;
  } catch (error) {
    if (error instanceof UsageError) {
      warn(`${name}: ${error.message}`);
      warn(usage);
      process.exitCode = EXIT_USAGE;
    } else {
      warn(`${name}: ${describe(error)}`);
      process.exitCode = EXIT_FAILURE;
    }
  }
}

/** Reports a failure while the program keeps running (per-connection errors). */
export function reportError(name: string, what: string, error: unknown): void {
  warn(`${name}: ${what}: ${describe(error)}`);
}
