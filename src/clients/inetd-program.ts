// What socketbox-inetd and socketbox-inetd-p share: finding the program before the socket
// is set up, and serving every connection that arrives on it.
import type { ClientAddon } from './load-client-addon';
import { EXIT_FAILURE, reportError } from './program-exit';
import { rateLimitedReport } from './rate-limited-report';
import { resolveProgram } from './resolve-program';
import { validationLevelFromEnv, type ValidationLevel } from './strict-stream-mode';
import { startInetd } from './inetd-server';
import { serveListener, type ListenerServer } from './listener-serve';
import { warn } from './write-fd';

export interface InetdProgram {
  /** The program file (resolved once on PATH) and its full argv. */
  file: string;
  argv: string[];
  level: ValidationLevel;
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
export function serveConnections(name: string, addon: ClientAddon, socket: number, socketPath: string, p: InetdProgram, ended?: () => void): void {
  startInetd({
    addon,
    socket,
    level: p.level,
    program: p.file,
    argv: p.argv,
    report: rateLimitedReport((message) => warn(`${name}: ${message}`)),
    fatal: (error) => {
      reportError(name, `receiving on ${socketPath}`, error);
      process.exit(EXIT_FAILURE);
    },
    ended,
  });
}

/** Listener mode: starts PROGRAM per connection accepted on the fast-path listener. */
export function serveListenerPrograms(name: string, addon: ClientAddon, listener: number, p: InetdProgram): ListenerServer {
  const report = rateLimitedReport((message) => warn(`${name}: ${message}`));
  addon.autoreapChildren();
  return serveListener(
    addon,
    listener,
    (connection) => {
      try {
        addon.spawnInSession(p.file, p.argv, connection);
      } catch (error) {
        report(`cannot start ${p.file}: ${(error as Error).message}`);
      }
    },
    report,
  );
}
