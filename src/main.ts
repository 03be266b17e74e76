import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseServerFlags, SERVER_USAGE, ServerOptions } from './cli/server-flags';
import { UsageError } from './cli/usage-error';
import { ConfigError } from './config/config-error';
import { configureLog, logError } from './server/log';
import { serve } from './server/serve';

const EXIT_STARTUP = 1;
const EXIT_USAGE = 2;

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === 'ctl') {
    const { ctlMain } = await import('./cli/ctl'); // the client needs none of the server
    process.exitCode = await ctlMain(argv.slice(1));
    return;
  }
  let o: ServerOptions;
  try {
    o = parseServerFlags(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`socketbox: ${err.message}\nTry 'socketbox --help' for the list of options.\n`);
    process.exit(EXIT_USAGE);
  }
  configureLog(o.logLevel, o.logFormat);
  try {
    switch (o.mode) {
      case 'help':
        process.stdout.write(SERVER_USAGE);
        return;
      case 'version':
        process.stdout.write(`socketbox ${packageVersion()}\n`);
        return;
      // The offline tools load both config parsers and the lookup: not before serving.
      case 'check':
        process.stdout.write((await import('./cli/offline-tools')).runCheck(o));
        return;
      case 'explain':
        process.stdout.write((await import('./cli/offline-tools')).runExplain(o));
        return;
      case 'serve':
        await serve(o);
        return;
    }
  } catch (err) {
    if (err instanceof ConfigError) logError(err.message);
    else if (err instanceof UsageError) {
      process.stderr.write(`socketbox: ${err.message}\n`);
      process.exit(EXIT_USAGE);
    } else logError(process.env.SOCKETBOX_DEBUG ? String((err as Error).stack) : (err as Error).message);
    process.exit(EXIT_STARTUP);
  }
}

if (require.main === module) void main(process.argv.slice(2));
