// How the client programs end: a usage error prints the message and the usage and exits 2,
// any other failure prints "PROGRAM: message" and exits 1 (what a shell user expects).
import type { GetoptStyle } from '../cli/getopt';
import { UsageError } from '../cli/usage-error';
import { warn } from './write-fd';

/** How the client programs word a missing option value. */
export const CLIENT_GETOPT_STYLE: GetoptStyle = { valueNoun: 'argument' };

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs main(args); a failure it throws is reported as above and becomes the exit status. */
export function programStatus<S extends number | undefined>(name: string, usage: string, main: (args: string[]) => S, args: string[]): S | number {
  try {
    return main(args);
  } catch (error) {
    if (error instanceof UsageError) {
      warn(`${name}: ${error.message}`);
      warn(usage);
      return EXIT_USAGE;
    }
    warn(`${name}: ${describe(error)}`);
    return EXIT_FAILURE;
  }
}

/**
 * Runs main with the command-line arguments. A number returned is the exit status (set
 * without cutting the event loop short); undefined means main left work running.
 */
export function runProgram(name: string, usage: string, main: (args: string[]) => number | undefined): void {
  const status = programStatus(name, usage, main, process.argv.slice(2));
  if (status !== undefined) process.exitCode = status;
}

/** Reports a failure while the program keeps running (per-connection errors). */
export function reportError(name: string, what: string, error: unknown): void {
  warn(`${name}: ${what}: ${describe(error)}`);
}
