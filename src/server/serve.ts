import * as path from 'node:path';
import type { ServerOptions } from '../cli/server-flags';
import type { FastPath } from '../fastpath/fast-path';
import { parseMetricsAddress, serveMetrics } from '../metrics/http-endpoint';
import { buildRegistry, type ReloadCounts } from '../metrics/registry';
import { type ServerAddon, serverAddon } from '../native/server-addon';
import { ControlSocket } from '../control/control-socket';
import type { AcceptPool } from './accept-pool';
import { type ConfigMode, readConfigMode } from './config-mode';
import { becomeDaemon, daemonChildContext, reportDaemonReady } from './daemonize';
import { DescriptorOrigins } from './descriptor-origins';
import { enterSandbox } from './identity';
import { logInfo, plural, sendLogLinesTo } from './log';
import { reloadFunction } from './reload';
import { type ServingState, shutdownFunction } from './shutdown';
import { handleSignals } from './signals';
import { checkStartupCapabilities } from './startup-capabilities';
import { takeSystemdSockets } from './systemd-activation';
import { SystemdLifecycle } from './systemd-lifecycle';
import { poolEvents, startAcceptPool } from './worker-pool';

/**
 * socketbox's start-up, step by step in the order of docs/startup.md: everything that needs
 * privileges, then the privilege drop, then the rules, then serving. What differs between a
 * classic and a JSON config is the mode's (config-mode.ts). A failing step throws, and the
 * process ends before a connection is served.
 */
export async function serve(flags: ServerOptions): Promise<void> {
  const addon = serverAddon();
  // Before anything is opened: which descriptors the parent passed on (jump-fd / -i must be among them).
  const origins = DescriptorOrigins.record(addon);
  checkStartupCapabilities(addon);
  // From here on no log line can block (nor pile up in memory): before chroot, since
  // the sink opens /proc/self/fd/2.
  addon.openLogSink();
  sendLogLinesTo((line) => addon.writeLogLine(line));
  const mode = readConfigMode(addon, origins, flags);
  const o = mode.options;
  // systemd's sockets and NOTIFY_SOCKET are taken first: the flags are checked
  // against them, and a path notify socket must be connected before chroot.
  const systemdSockets = takeSystemdSockets();
  if (systemdSockets) mode.checkSystemdSockets(systemdSockets);
  const systemd = o.exec ? undefined : SystemdLifecycle.fromEnvironment(addon);
  const identity = mode.resolveIdentity();
  const daemonChild = daemonChildContext();
  const listeners = mode.openListeners(systemdSockets, daemonChild?.listenFds);
  origins.claim(listeners.fds, listeners.what);
  if (daemonChild) origins.claim([daemonChild.readyFd], "the daemon's readiness pipe (-d)");
  if (o.daemonize && !daemonChild) await becomeDaemon(listeners.fds, addon.startupLibrary());
  const fastPath = mode.startFastPath(listeners);
  mode.openRegistrationSockets();
  // Before the drop, owned by who socketbox becomes; the path is outside any -x chroot.
  const control = o.control === undefined ? undefined : ControlSocket.open(addon, o.control, identity);
  mode.readConfig();
  const pool = o.exec ? undefined : await startAcceptPool(addon, o, listeners);
  enterSandbox(addon, o.chrootDir, identity, o.exec);
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
  const metrics = await startMetrics(addon, o, { pool, mode, fastPath, reloadCounts, state });
  listeners.listen();
  mode.startRegistrar();
  pool.publish(rules.table);
  fastPath?.publish(rules.table);
  const shutdown = shutdownFunction({ addon, mode, listeners, pool, fastPath, systemd, metrics, control, state });
  const reload = reloadFunction({ mode, pool, fastPath, systemd, counts: reloadCounts });
  pool.start(poolEvents(o, pool, shutdown));
  handleSignals(pool, shutdown, reload);
  control?.serve({ addon, options: o, pool, fastPath, reloadCounts, reload, listenerCount: listeners.fds.length, startedAt: Date.now(), registrar: mode.registrarCounters !== undefined });
  state.serving = true;
  logInfo(`listening on ${mode.describe(listeners)} with ${plural(o.workers, 'worker')}; ${rules.description}`);
  // READY=1 once every worker's loop answers: listeners, table and workers are all live.
  await systemd?.serving(pool);
  reportDaemonReady(daemonChild);
}

/** --target-root: opened (and /proc checked) now, after chroot: under -x the directory is inside it. */
function openTargetRoot(addon: ServerAddon, o: ServerOptions, pool: AcceptPool): void {
  if (o.targetRoot === undefined) return;
  const prefix = path.resolve(o.targetRoot);
  pool.setTargetRoot(addon.openTargetRoot(prefix), prefix, o.allowAbstractTargets);
}

/** --metrics: bound after the privilege drop, so an unprivileged port (or -s for the main listener only). */
async function startMetrics(
  addon: ServerAddon,
  o: ServerOptions,
  from: { pool: AcceptPool; mode: ConfigMode; fastPath: FastPath | undefined; reloadCounts: ReloadCounts; state: ServingState },
): Promise<{ close(): void } | undefined> {
  if (o.metrics === undefined) return undefined;
  const where = parseMetricsAddress(o.metrics);
  const registry = buildRegistry({
    pool: from.pool,
    reloads: from.reloadCounts,
    pendingLimit: o.maxPending * from.pool.size,
    registrar: from.mode.registrarCounters,
    logLinesDropped: () => addon.logLinesDropped(),
    fastpath: from.fastPath,
  });
  const server = await serveMetrics(registry, () => from.state.serving && !from.state.stopping, where);
  logInfo(`metrics on http://${where.host.includes(':') ? `[${where.host}]` : where.host}:${where.port}/metrics`);
  return server;
}
