import type * as http from 'node:http';
import * as path from 'node:path';
import type { ServerOptions } from '../cli/server-flags';
import type { FastPath } from '../fastpath/fast-path';
import { metricsSocketFd, parseMetricsAddress } from '../metrics/metrics-address';
import type { ReloadCounts } from '../metrics/registry';
import { type ServerAddon, serverAddon } from '../native/server-addon';
import type { ControlSocket } from '../control/control-socket';
import type { AcceptPool } from './accept-pool';
import { type ConfigMode, readConfigMode } from './config-mode';
import { becomeDaemon, daemonChildContext, reportDaemonReady } from './daemonize';
import { DescriptorOrigins } from './descriptor-origins';
import { enterSandbox, type Identity } from './identity';
import { logInfo, plural, sendLogLinesTo } from './log';
import { reloadFunction } from './reload';
import { type ServingState, shutdownFunction } from './shutdown';
import { whenLoopsAnswer } from './loops-answer';
import { handleSignals, refuseUpgradesWhileStarting, settleStartupSignals } from './signals';
import { checkStartupCapabilities } from './startup-capabilities';
import { takeSystemdSockets } from './systemd-activation';
import { SystemdLifecycle } from './systemd-lifecycle';
import { type ControlHandover, takeUpgradeHandover } from './upgrade/upgrade-environment';
import { upgradeFunction } from './upgrade/upgrade';
import { createAcceptPool, poolEvents } from './worker-pool';

/**
 * socketbox's start-up, step by step in the order of docs/startup.md: everything that needs
 * privileges, then the privilege drop, then the rules, then serving. What differs between a
 * classic and a JSON config is the mode's (config-mode.ts). A failing step throws, and the
 * process ends before a connection is served.
 */
export async function serve(flags: ServerOptions): Promise<void> {
  refuseUpgradesWhileStarting();
  const addon = serverAddon();
  // Before anything is opened: which descriptors the parent passed on (jump-fd / -i must be among them).
  const origins = DescriptorOrigins.record(addon);
  checkStartupCapabilities(addon);
  // From here on no log line can block (nor pile up in memory): before chroot, since
  // the sink opens /proc/self/fd/2.
  addon.openLogSink();
  sendLogLinesTo((line) => addon.writeLogLine(line));
  const mode = await readConfigMode(addon, origins, flags);
  const o = mode.options;
  // systemd's sockets and NOTIFY_SOCKET are taken first: the flags are checked
  // against them, and a path notify socket must be connected before chroot.
  const systemdSockets = takeSystemdSockets();
  if (systemdSockets) mode.checkSystemdSockets(systemdSockets);
  const systemd = o.exec ? undefined : SystemdLifecycle.fromEnvironment(addon);
  const identity = mode.resolveIdentity();
  const daemonChild = daemonChildContext();
  // Started by a live upgrade: the old process's listeners are taken over instead of bound.
  const upgradedFrom = takeUpgradeHandover();
  const listeners = mode.openListeners(systemdSockets, daemonChild?.listenFds ?? upgradedFrom?.listenFds);
  origins.claim(listeners.fds, listeners.what);
  if (daemonChild) origins.claim([daemonChild.readyFd], "the daemon's readiness pipe (-d)");
  if (upgradedFrom) origins.claim([upgradedFrom.readyFd], "the live upgrade's readiness pipe");
  if (o.daemonize && !daemonChild && !upgradedFrom) await becomeDaemon(listeners.fds, origins.inheritedTargets(), addon.startupLibrary());
  const fastPath = mode.startFastPath(listeners);
  mode.openRegistrationSockets(upgradedFrom?.registrationFds);
  // Before the drop, owned by who socketbox becomes; the path is outside any -x chroot. After
  // a live upgrade, the socket the old process handed over (the path is in use).
  const control = await openControlSocket(addon, o, identity, upgradedFrom?.control);
  mode.readConfig();
  const pool = o.exec ? undefined : createAcceptPool(addon, o, listeners);
  enterSandbox(addon, o.chrootDir, identity, o.exec, upgradedFrom !== undefined);
  if (!pool) {
    // -e: hand the bound socket to another program
    reportDaemonReady(daemonChild);
    return addon.execWithFd(listeners.fds[0], o.operands);
  }
  addon.noNewPrivs(); // for every thread of the process
  openTargetRoot(addon, o, pool);
  const rules = mode.compile();
  const state: ServingState = { serving: false, stopping: false };
  const reloadCounts: ReloadCounts = { succeeded: 0, failed: 0, lastFailed: false };
  const metrics = await startMetrics(addon, o, { pool, mode, fastPath, reloadCounts, state }, upgradedFrom?.metricsFd);
  // Signals that came while starting are handled as such (a SIGUSR2 refused) before the listeners
  // are live; from listen() to handleSignals nothing yields, so one that comes later finds
  // serving's handlers.
  await settleStartupSignals();
  listeners.listen();
  mode.startRegistrar(upgradedFrom?.apiConnections);
  pool.publish(rules.table);
  fastPath?.publish(rules.table);
  const shutdown = shutdownFunction({ addon, mode, listeners, pool, fastPath, systemd, metrics, control, state });
  const reload = reloadFunction({ mode, pool, fastPath, systemd, counts: reloadCounts });
  pool.start(poolEvents(o, pool, shutdown));
  const upgrade = upgradeFunction({
    options: o,
    listeners,
    origins,
    prepare: () => mode.prepareUpgrade(),
    metricsFd: metrics && metricsSocketFd(metrics),
    control: control?.handover(),
    startupLibrary: addon.startupLibrary(),
    state,
    shutdown,
  });
  handleSignals(pool, shutdown, reload, upgrade);
  control?.serve({
    addon,
    options: o,
    pool,
    fastPath,
    reloadCounts,
    reload,
    upgrade,
    listenerCount: listeners.fds.length,
    startedAt: Date.now(),
    registrar: mode.registrarCounters !== undefined,
  });
  state.serving = true;
  const from = upgradedFrom ? `; took over from pid ${upgradedFrom.oldPid} (live upgrade)` : '';
  logInfo(`listening on ${mode.describe(listeners)} with ${plural(o.workers, 'worker')}; ${rules.description}${from}`);
  // READY=1 (after an upgrade with MAINPID=) once every worker's loop answers: listeners,
  // table and workers are all live. The -d parent and an upgrade's old process wait for that too.
  if (upgradedFrom) systemd?.takeOverFrom();
  if (systemd) await systemd.serving(pool);
  else await whenLoopsAnswer(pool);
  reportDaemonReady(daemonChild ?? upgradedFrom);
}

/** --control: bound now, or (after a live upgrade) the socket the old process handed over. */
async function openControlSocket(addon: ServerAddon, o: ServerOptions, identity: Identity, inherited: ControlHandover | undefined): Promise<ControlSocket | undefined> {
  if (o.control === undefined) return undefined;
  const { ControlSocket } = await import('../control/control-socket'); // node:net only with --control
  return inherited ? ControlSocket.adopt(addon, o.control, inherited) : ControlSocket.open(addon, o.control, identity);
}

/** --target-root: opened (and /proc checked) now, after chroot: under -x the directory is inside it. */
function openTargetRoot(addon: ServerAddon, o: ServerOptions, pool: AcceptPool): void {
  if (o.targetRoot === undefined) return;
  const prefix = path.resolve(o.targetRoot);
  pool.setTargetRoot(addon.openTargetRoot(prefix), prefix, o.allowAbstractTargets);
}

/**
 * --metrics: bound after the privilege drop, so an unprivileged port (or -s for the main
 * listener only); after a live upgrade, the socket the old process handed over (`inherited`).
 */
async function startMetrics(
  addon: ServerAddon,
  o: ServerOptions,
  from: { pool: AcceptPool; mode: ConfigMode; fastPath: FastPath | undefined; reloadCounts: ReloadCounts; state: ServingState },
  inherited: number | undefined,
): Promise<http.Server | undefined> {
  if (o.metrics === undefined) return undefined;
  const where = parseMetricsAddress(o.metrics);
  // Loaded only with --metrics: prom-client and node:http would double a cold start.
  const [{ buildRegistry }, { serveMetrics }] = await Promise.all([import('../metrics/registry'), import('../metrics/http-endpoint')]);
  const registry = buildRegistry({
    pool: from.pool,
    reloads: from.reloadCounts,
    pendingLimit: o.maxPending * from.pool.size,
    registrar: from.mode.registrarCounters,
    logLinesDropped: () => addon.logLinesDropped(),
    fastpath: from.fastPath,
  });
  if (inherited !== undefined) addon.closeOnExec(inherited);
  const server = await serveMetrics(registry, () => from.state.serving && !from.state.stopping, inherited === undefined ? where : { fd: inherited });
  logInfo(`metrics on http://${where.host.includes(':') ? `[${where.host}]` : where.host}:${where.port}/metrics`);
  return server;
}
