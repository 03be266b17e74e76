import type { ServerOptions } from '../cli/server-flags';
import { ServerAddon, serverAddon } from '../native/server-addon';
import { AcceptPool } from './accept-pool';
import { summarizeCounters } from './counters-summary';
import { becomeDaemon, daemonChildContext, reportDaemonReady } from './daemonize';
import { enterSandbox, resolveIdentity } from './identity';
import { openListeners } from './listeners';
import { logError, logInfo } from './log';
import { collectGarbageSoon } from './collect-garbage';
import { LOOP_STATUS } from './loop-status';
import { STAT } from './stats-layout';
import { compileConfigText, compileForcedTarget, CompiledRules, readConfigFile } from './rules';

const EXIT_STARTUP = 1;

async function startAcceptPool(addon: ServerAddon, o: ServerOptions, listenFds: number[]): Promise<AcceptPool> {
  // With -r each worker has its own SO_REUSEPORT socket; otherwise all share them.
  const groups = listenFds.length === o.workers && o.workers > 1 ? listenFds.map((fd) => [fd]) : Array.from({ length: o.workers }, () => listenFds);
  const pool = new AcceptPool(addon, groups, {
    clearTransparent: o.clearTransparent,
    maxPending: o.maxPending,
    dispatchTimeoutMs: o.dispatchTimeoutMs,
    drainTimeoutMs: o.drainTimeoutMs,
    maxCachedTargets: o.maxCachedTargets,
    // Our own sockets' backlogs are served before stopping; an inherited one's belongs to the next owner.
    drainBacklogOnStop: o.inheritedListenFd === undefined,
  });
  await pool.whenLoaded();
  return pool;
}

/** Runs the startup sequence of SPEC §4 in its order; each failing step exits before serving. */
export async function serve(o: ServerOptions): Promise<void> {
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
  const compileRules = (text: string): CompiledRules => compileConfigText(addon, text, o.configFile, o);
  const rules = forced ?? compileRules(configText as string);
  // 8. listen
  for (const fd of listenFds) addon.listen(fd, o.backlog);
  // 9. serve
  pool.publish(rules.table);
  const reloads = { succeeded: 0, failed: 0 };
  let stopping = false;
  const shutdown = async (status: number, why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logInfo(`${why}: stopping (delivering connections already accepted)`);
    await pool.stop();
    listenFds.forEach((fd) => addon.closeFd(fd));
    logInfo(`stopped; ${summarizeCounters(pool.totals())}; accepted per worker: ${pool.perLoop(STAT.accepted).join(', ')}`);
    process.exit(status);
  };
  pool.start({
    onFatal: (exit) =>
      void shutdown(
        exit.status,
        exit.status === LOOP_STATUS.peerGone ? `the peer of -i ${o.forcedFd} is gone` : `accept failed: ${exit.error ?? 'unknown error'}`,
      ),
    onRestart: (index, reason, delayMs) => logError(`worker ${index}: ${reason}; restarting it in ${delayMs} ms (restart ${pool.restarts})`),
    onGiveUp: (index, reason) => {
      logError(`worker ${index}: ${reason}; it failed too often, giving up`);
      void shutdown(EXIT_STARTUP, 'a worker cannot be kept running');
    },
  });
  if (process.env.SOCKETBOX_TEST_CONTROL === '1') {
    // Test support only: SIGUSR2 ends one worker thread as a crash would.
    let next = 0;
    process.on('SIGUSR2', () => pool.abandon(next++));
  }
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.on('SIGHUP', () => {
    if (forced) return logInfo('SIGHUP: no config file in use (-S/-i); nothing to reload');
    try {
      // Under -x the path resolves inside the chroot.
      const next = compileRules(readConfigFile(o.configFile));
      pool.publish(next.table);
      collectGarbageSoon();
      reloads.succeeded++;
      logInfo(`reloaded ${next.description} (generation ${reloads.succeeded + 1})`);
    } catch (err) {
      reloads.failed++;
      logError(`reload failed, keeping the previous rules: ${(err as Error).message}`);
    }
  });
  logInfo(
    `listening on ${o.inheritedListenFd !== undefined ? `fd ${o.inheritedListenFd}` : `[${o.listenAddress}]:${o.port}`}` +
      ` with ${o.workers} worker${o.workers === 1 ? '' : 's'}; ${rules.description}`,
  );
  reportDaemonReady(daemonChild);
}

