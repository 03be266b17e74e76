// What socketbox-inetd and socketbox-inetd-p share: finding the program before the socket
// is set up, and serving every connection that arrives on it.
import type { ClientAddon } from './load-client-addon';
import { EXIT_FAILURE, reportError } from './program-exit';
import { rateLimitedReport } from './rate-limited-report';
import { resolveProgram } from './resolve-program';
import { validationLevelFromEnv, type ValidationLevel } from './strict-stream-mode';
import { startInetd } from './inetd-server';
import { warn } from './write-fd';

export interface InetdProgram {
  /** The program file (resolved once on PATH) and its full argv. */
  file: string;
  argv: string[];
  level: ValidationLevel;
}

export interface InetdService extends InetdProgram {
  /** --max-children */
  maxChildren: number;
  /** Listener mode: the fast-path listening socket, accepted from under the same budget. */
  listener?: number;
}

/** Resolves PROGRAM and reads SKBOX_STRICT_STREAM_MODE; null (after saying why) when PROGRAM is not there. */
export function prepareProgram(name: string, program: string, args: string[]): InetdProgram | null {
  const file = resolveProgram(program);
  if (!file) {
    warn(`${name}: ${program}: no such executable program`);
    return null;
  }
  const level = validationLevelFromEnv(process.env, (message) => warn(`${name}: ${message}`));
  return { file, argv: [program, ...args], level };
}

/** Starts PROGRAM per connection received on socket; `ended` runs when a registration's server goes away. */
export function serveConnections(name: string, addon: ClientAddon, socket: number, socketPath: string, p: InetdService, ended?: () => void): void {
  startInetd({
    addon,
    socket,
    level: p.level,
    program: p.file,
    argv: p.argv,
    maxChildren: p.maxChildren,
    listener: p.listener,
    report: rateLimitedReport((message) => warn(`${name}: ${message}`)),
    fatal: (error) => {
      reportError(name, `receiving on ${socketPath}`, error);
      process.exit(EXIT_FAILURE);
    },
    ended,
  });
}

