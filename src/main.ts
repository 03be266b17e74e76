import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseServerFlags, SERVER_USAGE, ServerOptions } from './cli/server-flags';
import { UsageError } from './cli/usage-error';
import { runCheck, runExplain } from './cli/offline-tools';
import { ConfigError } from './config/config-error';
import { ServerAddon, serverAddon } from './native/server-addon';
import { AcceptPool } from './server/accept-pool';
import { becomeDaemon, daemonChildContext, reportDaemonReady } from './server/daemonize';
import { enterSandbox, resolveIdentity } from './server/identity';
import { openListeners } from './server/listeners';
import { logError, logInfo } from './server/log';
import { compileConfigText, compileForcedTarget, CompiledRules, readConfigFile } from './server/rules';
import { summarizeCounters } from './server/counters-summary';

const EXIT_STARTUP = 1;
const EXIT_USAGE = 2;

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

async function startAcceptPool(addon: ServerAddon, o: ServerOptions, listenFds: number[]): Promise<AcceptPool> {
  // With -r each worker has its own SO_REUSEPORT socket; otherwise all share them.
  const groups = listenFds.length === o.workers && o.workers > 1 ? listenFds.map((fd) => [fd]) : Array.from({ length: o.workers }, () => listenFds);
  const pool = new AcceptPool(addon, groups, {
    clearTransparent: o.clearTransparent,
    maxPending: o.maxPending,
    dispatchTimeoutMs: o.dispatchTimeoutMs,
    drainTimeoutMs: o.drainTimeoutMs,
    maxCachedTargets: o.maxCachedTargets,
  });
  await pool.whenLoaded();
  return pool;
}

/** Runs the startup sequence of SPEC §4 in its order; each failing step exits before serving. */
async function serve(o: ServerOptions): Promise<void> {
  const addon = serverAddon();
  const identity = resolveIdentity(addon, o);
  const daemonChild = daemonChildContext();

  // 1. create and bind the listeners (or take inherited ones)
  let listenFds: number[];
  if (daemonChild) {
    daemonChild.listenFds.forEach((fd) => addon.adoptListener(fd));
    listenFds = daemonChild.listenFds;
  } else {
    listenFds = openListeners(addon, o);
  }
  // 2. daemonize
  if (o.daemonize && !daemonChild) await becomeDaemon(listenFds);
  // 3. open the config (read it now: after chroot the path may not resolve)
  const forced = o.exec ? null : compileForcedTarget(addon, o);
  const configText = o.exec || forced ? null : readConfigFile(o.configFile);
  // Worker threads start now, while their code can still be loaded from disk;
  // they take no connection until step 9.
  const pool = o.exec ? undefined : await startAcceptPool(addon, o, listenFds);
  // 4. chroot, groups, gid, uid
  enterSandbox(addon, o.chrootDir, identity);
  // 5. -e: hand the bound socket to another program
  if (!pool) {
    reportDaemonReady(daemonChild);
    return addon.execWithFd(listenFds[0], o.operands);
  }
  // 6. no new privileges, for every thread of the process
  addon.noNewPrivs();
  // 7. parse the config
  const loadRules = (): CompiledRules =>
    forced ?? compileConfigText(addon, configText ?? readConfigFile(o.configFile), o.configFile, o);
  const rules = loadRules();
  // 8. listen
  for (const fd of listenFds) addon.listen(fd, o.backlog);
  // 9. serve
  pool.publish(rules.table);
  let stopping = false;
  const shutdown = async (status: number, why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logInfo(`${why}: stopping (delivering connections already accepted)`);
    await pool.stop();
    listenFds.forEach((fd) => addon.closeFd(fd));
    logInfo(`stopped; ${summarizeCounters(pool.totals())}`);
    process.exit(status);
  };
  pool.start((exit) => {
    if (exit.status === 11) void shutdown(11, `the peer of -i ${o.forcedFd} is gone`);
    else void shutdown(exit.status, `accept failed: ${exit.error ?? 'unknown error'}`);
  });
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.on('SIGHUP', () => {
    if (forced) return logInfo('SIGHUP: no config file in use (-S/-i); nothing to reload');
    try {
      const next = loadRules();
      pool.publish(next.table);
      logInfo(`reloaded ${next.description}`);
    } catch (err) {
      logError(`reload failed, keeping the previous rules: ${(err as Error).message}`);
    }
  });
  logInfo(
    `listening on ${o.inheritedListenFd !== undefined ? `fd ${o.inheritedListenFd}` : `[${o.listenAddress}]:${o.port}`}` +
      ` with ${o.workers} worker${o.workers === 1 ? '' : 's'}; ${rules.description}`,
  );
  reportDaemonReady(daemonChild);
}

export async function main(argv: readonly string[]): Promise<void> {
  let o: ServerOptions;
  try {
    o = parseServerFlags(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`socketbox: ${err.message}\nTry 'socketbox --help' for the list of options.\n`);
    process.exit(EXIT_USAGE);
  }
  try {
    switch (o.mode) {
      case 'help':
        process.stdout.write(SERVER_USAGE);
        return;
      case 'version':
        process.stdout.write(`socketbox ${packageVersion()}\n`);
        return;
      case 'check':
        process.stdout.write(runCheck(o));
        return;
      case 'explain':
        process.stdout.write(runExplain(o));
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
