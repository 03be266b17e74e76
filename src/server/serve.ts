import * as path from 'node:path';
import type { ServerOptions } from '../cli/server-flags';
import { LoopExit, ServerAddon, serverAddon } from '../native/server-addon';
import { AcceptPool } from './accept-pool';
import { summarizeCounters } from './counters-summary';
import { becomeDaemon, daemonChildContext, reportDaemonReady } from './daemonize';
import { enterSandbox, flagIdentityRequest, resolveIdentity } from './identity';
import { checkStartupCapabilities } from './startup-capabilities';
import { listenerGroups, openListeners, startListening } from './listeners';
import { logError, logInfo, logWarn, sendLogLinesTo } from './log';
import { collectGarbageSoon } from './collect-garbage';
import { buildRegistry, type ReloadCounts } from '../metrics/registry';
import { parseMetricsAddress, serveMetrics } from '../metrics/http-endpoint';
import { LOOP_STATUS } from './loop-status';
import { STAT } from './stats-layout';
import { checkFlagsWithSystemdSockets, describeSystemdSockets, SystemdSockets, takeSystemdSockets } from './systemd-activation';
import { SystemdLifecycle } from './systemd-lifecycle';
import { compileConfigText, compileForcedTarget, CompiledRules, readConfigFile } from './rules';
import { isJsonConfigFile, parseJsonConfig } from '../config/json-parser';
import type { JsonConfig } from '../config/json-model';
import { newCounterBlock } from './stats-layout';
import { REGISTRAR_STAT_COUNT } from './registrar-stats';
import { DescriptorOrigins } from './descriptor-origins';
import { FastPath } from '../fastpath/fast-path';
import {
  checkFlagsWithJsonConfig,
  checkJsonCoversSystemdSockets,
  compileJsonRules,
  openApiSockets,
  openJsonListeners,
  reloadProblem,
  SlotOwners,
  startJsonListening,
  withDaemonIdentity,
  withDaemonSettings,
} from './json-mode';

const EXIT_STARTUP = 1;
const REGISTRATION_TIMEOUT_MS = 10_000;

async function startAcceptPool(
  addon: ServerAddon,
  o: ServerOptions,
  listenFds: number[],
  fromSystemd: boolean,
  json: JsonConfig | undefined,
): Promise<AcceptPool> {
  // A JSON config routes by listener index (incoming_socket): every worker polls every listener in order.
  const groups = json ? Array.from({ length: o.workers }, () => listenFds) : listenerGroups(listenFds, o.workers);
  const pool = new AcceptPool(addon, groups, {
    clearTransparent: o.clearTransparent,
    maxPending: o.maxPending,
    maxPendingPerTarget: o.maxPendingPerTarget,
    dispatchTimeoutMs: o.dispatchTimeoutMs,
    drainTimeoutMs: o.drainTimeoutMs,
    maxCachedTargets: o.maxCachedTargets,
    // Our own sockets' backlogs are served before stopping; an inherited one's belongs to the next owner.
    // -P: what the upstream server already sent us is ours to deliver, too.
    drainBacklogOnStop: o.inheritedListenFd === undefined && !fromSystemd && !json?.incoming.some((l) => l.kind === 'fd'),
    accessLog: o.accessLog ? (o.logFormat === 'json' ? 2 : 1) : 0,
    upstream: o.registration !== undefined,
  }, o.schedPolicy === 'batch');
  await pool.whenLoaded();
  return pool;
}

/** -P: this server becomes a receiver of another one. */
function registerUpstream(addon: ServerAddon, r: { group: number; path: string }): number {
  try {
    return addon.registerAt(r.path, r.group, REGISTRATION_TIMEOUT_MS);
  } catch (err) {
    throw new Error(`-P: cannot register as group ${r.group} at ${r.path}: ${(err as Error).message}`);
  }
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Where connections come from, for the start-up log line. */
function describeIntake(o: ServerOptions, json: JsonConfig | undefined, apiSockets: number, systemdSockets: SystemdSockets | undefined): string {
  if (json) return `${plural(json.incoming.length, 'listener')} and ${plural(apiSockets, 'registration socket')} of ${o.configFile}`;
  if (systemdSockets) return `${describeSystemdSockets(systemdSockets)} from systemd`;
  if (o.registration) return `registration as group ${o.registration.group} at ${o.registration.path}`;
  if (o.inheritedListenFd !== undefined) return `fd ${o.inheritedListenFd}`;
  return `[${o.listenAddress}]:${o.port}`;
}

/** Why a loop ended on its own, for the stop log line. */
function whyLoopEnded(o: ServerOptions, exit: LoopExit): string {
  if (exit.status === LOOP_STATUS.peerGone) return `the peer of -i ${o.forcedFd} is gone`;
  if (exit.status === LOOP_STATUS.upstreamGone) return `the registration server at ${o.registration?.path} closed our registration`;
  return `accept failed: ${exit.error ?? 'unknown error'}`;
}

/** Runs the startup sequence of docs/startup.md in its order; each failing step exits before serving. */
export async function serve(flags: ServerOptions): Promise<void> {
  const addon = serverAddon();
  checkStartupCapabilities(addon);
  // Before anything is opened: which descriptors the parent passed on (jump-fd / -i must be among them).
  const origins = DescriptorOrigins.record(addon);
  // From here on no log line can block (nor pile up in memory): before chroot, since
  // the sink opens /proc/self/fd/2.
  addon.openLogSink();
  sendLogLinesTo((line) => addon.writeLogLine(line));
  // A JSON config names its own listeners, so it is read before anything is bound.
  let json: JsonConfig | undefined;
  let o = flags;
  if (isJsonConfigFile(flags.configFile)) {
    checkFlagsWithJsonConfig(flags);
    json = parseJsonConfig(readConfigFile(flags.configFile), flags.configFile);
    o = withDaemonSettings(flags, json);
  }
  // systemd's sockets and NOTIFY_SOCKET are taken first: the flags are checked
  // against them, and a path notify socket must be connected before chroot.
  const systemdSockets = takeSystemdSockets();
  if (systemdSockets && !json) checkFlagsWithSystemdSockets(o, systemdSockets);
  if (systemdSockets && json) checkJsonCoversSystemdSockets(json, systemdSockets);
  const systemd = o.exec ? undefined : SystemdLifecycle.fromEnvironment(addon);
  const identityRequest = json ? withDaemonIdentity(flagIdentityRequest(o), json) : flagIdentityRequest(o);
  const identity = resolveIdentity(addon, identityRequest);
  const daemonChild = daemonChildContext();

  // 1. create and bind the listeners (or take inherited ones)
  let listenFds: number[];
  let apiFds: number[] = [];
  const slotOwners = new SlotOwners(addon);
  const slots = json ? slotOwners.rules(json) : [];
  if (json) {
    // Inherited sockets (systemd's too) are named by `fd` entries; -d re-execs with them all open.
    listenFds = daemonChild ? daemonChild.listenFds : openJsonListeners(addon, json);
  } else if (daemonChild) {
    daemonChild.listenFds.forEach((fd) => addon.adoptListener(fd));
    listenFds = daemonChild.listenFds;
  } else if (o.registration) {
    listenFds = [registerUpstream(addon, o.registration)];
  } else {
    listenFds = openListeners(addon, o, systemdSockets);
  }
  origins.claim(listenFds, o.registration ? `socketbox's registration at ${o.registration.path} (-P)` : "one of socketbox's listening sockets");
  if (daemonChild) origins.claim([daemonChild.readyFd], "the daemon's readiness pipe (-d)");
  // 2. daemonize
  if (o.daemonize && !daemonChild) await becomeDaemon(listenFds, addon.startupLibrary());
  // Kernel fast path (docs/fast-path.md): attached while privileged, in the listeners' namespace.
  const fastPath = json ? FastPath.start(addon, json, listenFds, o.noFastPath, { info: logInfo, warn: logWarn, verbose: o.logLevel === 'debug' }) : undefined;
  // the registration sockets are bound by the process that serves them, before chroot
  if (json) apiFds = openApiSockets(addon, json);
  // 3. open the config (read it now: after chroot the path may not resolve)
  const forced = o.exec || json ? null : compileForcedTarget(origins, o);
  const configText = o.exec || forced || json ? null : readConfigFile(o.configFile);
  // Worker threads start now, while their code can still be loaded from disk;
  // they take no connection until step 9.
  const pool = o.exec ? undefined : await startAcceptPool(addon, o, listenFds, systemdSockets !== undefined, json);
  // 4. chroot, capabilities, groups, gid, uid
  enterSandbox(addon, o.chrootDir, identity, o.exec);
  // 5. -e: hand the bound socket to another program
  if (!pool) {
    reportDaemonReady(daemonChild);
    return addon.execWithFd(listenFds[0], o.operands);
  }
  // 6. no new privileges, for every thread of the process
  addon.noNewPrivs();
  if (o.targetRoot !== undefined) {
    // Opened (and /proc checked) here: under -x the directory is inside the chroot.
    const prefix = path.resolve(o.targetRoot);
    pool.setTargetRoot(addon.openTargetRoot(prefix), prefix, o.allowAbstractTargets);
  }
  // 7. parse the config
  const compileRules = (text: string): CompiledRules => compileConfigText(origins, text, o.configFile, o);
  const rules = forced ?? (json ? compileJsonRules(json) : compileRules(configText as string));
  if (addon.registrarStatCount !== REGISTRAR_STAT_COUNT) throw new Error('native and JavaScript registrar counters disagree; rebuild socketbox');
  const registrarStats = newCounterBlock(REGISTRAR_STAT_COUNT);
  const reloads: ReloadCounts = { succeeded: 0, failed: 0, lastFailed: false };
  let serving = false;
  let stopping = false;
  let metricsServer: { close(): void } | undefined;
  if (o.metrics !== undefined) {
    // Bound after the privilege drop: an unprivileged port, or pass -s for the main listener only.
    const where = parseMetricsAddress(o.metrics);
    const sources = { pool, reloads, pendingLimit: o.maxPending * pool.size, registrar: json ? registrarStats : undefined, logLinesDropped: () => addon.logLinesDropped(), fastpath: fastPath };
    metricsServer = await serveMetrics(buildRegistry(sources), () => serving && !stopping, where);
    logInfo(`metrics on http://${where.host.includes(':') ? `[${where.host}]` : where.host}:${where.port}/metrics`);
  }
  // 8. listen (a -P registration is already live)
  if (json) startJsonListening(addon, json, listenFds);
  else if (!o.registration) startListening(addon, o, listenFds, systemdSockets !== undefined);
  // 9. serve
  if (json) addon.startRegistrar(apiFds, slots, json.daemon.apiConnectionsPerUid, registrarStats);
  pool.publish(rules.table);
  fastPath?.publish(rules.table);
  const shutdown = async (status: number, why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    systemd?.stopping();
    logInfo(`${why}: stopping (delivering connections already accepted)`);
    fastPath?.stop(); // new connections go to the loops, which take what the kernel queued
    await pool.stop();
    // After the loops: what waited for a registered receiver has been delivered.
    if (json) addon.stopRegistrar();
    [...listenFds, ...apiFds].forEach((fd) => addon.closeFd(fd));
    const dropped = addon.logLinesDropped();
    const droppedNote = dropped > 0 ? `; ${dropped} log line${dropped === 1 ? '' : 's'} dropped (stderr could not take them)` : '';
    logInfo(`stopped; ${summarizeCounters(pool.totals())}; accepted per worker: ${pool.perLoop(STAT.accepted).join(', ')}${droppedNote}`);
    // End by running out of work, so that instrumentation (profilers) can flush
    // what it buffered; the metrics endpoint is the last handle we hold. Should
    // anything else linger, the timer ends the process a second later anyway.
    metricsServer?.close();
    process.exitCode = status;
    setTimeout(() => process.exit(status), 1000).unref();
  };
  pool.start({
    onFatal: (exit) =>
      void shutdown(
        // -P: the upstream server going away is an orderly end, as for socketbox-inetd-p.
        exit.status === LOOP_STATUS.upstreamGone ? 0 : exit.status,
        whyLoopEnded(o, exit),
      ),
    onRestart: (index, reason, delayMs) => logError(`worker ${index}: ${reason}; restarting it in ${delayMs} ms (restart ${pool.restarts})`),
    onGiveUp: (index, reason) => {
      logError(`worker ${index}: ${reason}; it failed too often, giving up`);
      void shutdown(EXIT_STARTUP, 'a worker cannot be kept running');
    },
    onWarning: (message) => logWarn(message),
  });
  const testControl = process.env.SOCKETBOX_TEST_CONTROL;
  if (testControl === '1' || testControl === 'terminate') {
    // Test support only: SIGUSR2 ends one worker thread as a crash would: its loop returns
    // and the thread exits (1), or the thread is terminated while inside its loop.
    let next = 0;
    process.on('SIGUSR2', () => (testControl === 'terminate' ? pool.terminateWorker(next++) : pool.abandon(next++)));
  }
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.on('SIGHUP', () => {
    // Type=notify-reload: systemd waits for RELOADING=1 then READY=1, whatever the outcome.
    systemd?.reloading();
    if (forced) {
      logInfo('SIGHUP: no config file in use (-S/-i); nothing to reload');
      return systemd?.reloaded();
    }
    try {
      // Under -x the path resolves inside the chroot.
      const text = readConfigFile(o.configFile);
      let next: CompiledRules;
      if (json) {
        const nextJson = parseJsonConfig(text, o.configFile);
        const problem = reloadProblem(json, nextJson);
        if (problem) throw new Error(`${o.configFile}: ${problem}`);
        next = compileJsonRules(nextJson);
        // Slots first: a connection routed by the new table finds its receiver's slot as the table means it.
        addon.configureRegistrar(slotOwners.rules(nextJson), nextJson.daemon.apiConnectionsPerUid);
        json = nextJson;
      } else {
        next = compileRules(text);
      }
      pool.publish(next.table);
      fastPath?.publish(next.table);
      collectGarbageSoon();
      reloads.succeeded++;
      reloads.lastFailed = false;
      logInfo(`reloaded ${next.description} (generation ${reloads.succeeded + 1})`);
      systemd?.reloaded();
    } catch (err) {
      reloads.failed++;
      reloads.lastFailed = true;
      logError(`reload failed, keeping the previous rules: ${(err as Error).message}`);
      systemd?.reloaded((err as Error).message);
    }
  });
  serving = true;
  const listeningOn = describeIntake(o, json, apiFds.length, systemdSockets);
  logInfo(`listening on ${listeningOn} with ${plural(o.workers, 'worker')}; ${rules.description}`);
  // READY=1 once every worker's loop answers: listeners, table and workers are all live.
  await systemd?.serving(pool);
  reportDaemonReady(daemonChild);
}

