/**
 * The live upgrade (docs/startup.md, "Live upgrade"): socketbox starts itself again with the
 * same command line, handing over its listening sockets; once the new process serves, this
 * one stops accepting, delivers what it accepted and exits 0. If the new one does not serve
 * within --upgrade-timeout (or ends first), it is killed and this one goes on serving.
 * One function, triggered by SIGUSR2 (signals.ts) and by the control socket's `upgrade`.
 */
import type { ServerOptions } from '../../cli/server-flags';
import type { Listeners, PreparedUpgrade } from '../config-mode';
import type { DescriptorOrigins } from '../descriptor-origins';
import { logInfo, logWarn } from '../log';
import { keepingNumbers, type SelfCopy, startSelfCopy } from '../self-copy';
import type { Shutdown, ServingState } from '../shutdown';
import { type ControlHandover, type InheritedDescriptor, upgradeEnvironment } from './upgrade-environment';
import { upgradeRefusal } from './upgrade-refusal';

export type UpgradeOutcome = { ok: true; pid: number } | { ok: false; reason: string };
export type Upgrade = () => Promise<UpgradeOutcome>;

export interface UpgradeParts {
  options: ServerOptions;
  listeners: Listeners;
  origins: DescriptorOrigins;
  /** What the config mode hands over besides the listeners (or why it cannot). */
  prepare: () => PreparedUpgrade | { refused: string };
  /** The --metrics listening socket, handed over too (the new process could not bind its port). */
  metricsFd: number | undefined;
  /** The --control socket and its directory: the new process serves the same path. */
  control: ControlHandover | undefined;
  startupLibrary: string | null;
  state: ServingState;
  shutdown: Shutdown;
}

/** One upgrade at a time: another asked for meanwhile is refused with a log line. */
export function upgradeFunction(parts: UpgradeParts): Upgrade {
  let underway = false;
  return async () => {
    const refuse = (reason: string): UpgradeOutcome => {
      logWarn(`upgrade refused: ${reason}`);
      return { ok: false, reason };
    };
    if (underway) return refuse('an upgrade is under way already');
    if (parts.state.stopping) return refuse('socketbox is stopping');
    const flagsRefusal = upgradeRefusal(parts.options);
    if (flagsRefusal !== undefined) return refuse(flagsRefusal);
    const prepared = parts.prepare();
    if ('refused' in prepared) return refuse(prepared.refused);
    underway = true;
    let outcome: UpgradeOutcome;
    try {
      outcome = await upgradeNow(parts, prepared.descriptors);
    } catch (err) {
      outcome = { ok: false, reason: `the new process could not be started: ${(err as Error).message}` };
      logWarn(`upgrade failed: ${outcome.reason}; pid ${process.pid} goes on serving`);
    }
    // Whatever went wrong, the mode serves on as before (JSON: the registrar resumes).
    if (!outcome.ok) prepared.abandon();
    underway = false;
    return outcome;
  };
}

async function upgradeNow(parts: UpgradeParts, modeDescriptors: InheritedDescriptor[]): Promise<UpgradeOutcome> {
  const { listeners, options } = parts;
  const handedOver: InheritedDescriptor[] = [
    ...listeners.fds.map((fd) => ({ fd, name: 'listen' as const })),
    ...modeDescriptors,
    ...(parts.metricsFd === undefined ? [] : [{ fd: parts.metricsFd, name: 'metrics' as const }]),
    ...(parts.control === undefined
      ? []
      : [
          { fd: parts.control.fd, name: 'control' as const },
          { fd: parts.control.dirFd, name: 'control-dir' as const },
        ]),
  ];
  const kept = [...handedOver.map((d) => d.fd), ...parts.origins.inheritedTargets()];
  const stdio = keepingNumbers(kept);
  const readyFd = 3 + stdio.length;
  const env = { ...process.env, ...upgradeEnvironment(process.pid, [...handedOver, { fd: readyFd, name: 'ready' }]) };
  // systemd's watchdog is meant for the service's main process, which the new one becomes.
  if (env.WATCHDOG_PID === String(process.pid)) delete env.WATCHDOG_PID;
  const copy = startSelfCopy(stdio, env, parts.startupLibrary);
  const pid = copy.child.pid ?? 0;
  logInfo(`upgrade: started pid ${pid}; it has ${options.upgradeTimeoutMs / 1000} s to serve`);
  const failure = await notServing(copy, options.upgradeTimeoutMs, () => parts.state.stopping);
  if (failure !== undefined) {
    copy.child.kill('SIGKILL');
    const reason = `the new process (pid ${pid}) ${failure}`;
    logWarn(`upgrade failed: ${reason}; pid ${process.pid} ${parts.state.stopping ? 'stops as asked' : 'goes on serving'}`);
    return { ok: false, reason };
  }
  copy.child.unref();
  logInfo(`upgrade: pid ${pid} serves now; pid ${process.pid} stops accepting, delivers what it accepted and exits`);
  void parts.shutdown(0, 'upgrade', true);
  return { ok: true, pid };
}

/**
 * Resolves undefined once the copy reports that it serves, or with why it did not. A stop of
 * this process meanwhile (SIGTERM) abandons the upgrade: the copy must not serve alone what
 * this one is ending.
 */
function notServing(copy: SelfCopy, timeoutMs: number, stopping: () => boolean): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(`did not serve within ${timeoutMs / 1000} s; it was killed`), timeoutMs);
    const watch = setInterval(() => stopping() && done('was killed: socketbox is stopping'), 50);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      done(`ended (${signal ?? `status ${code}`}) before it served; its own log lines above say why`);
    const onError = (err: Error): void => done(`could not be started: ${err.message}`);
    function done(failure: string | undefined): void {
      clearTimeout(timer);
      clearInterval(watch);
      copy.child.off('exit', onExit);
      copy.child.off('error', onError);
      copy.ready.removeAllListeners('data');
      (copy.ready as NodeJS.ReadableStream & { destroy(): void }).destroy();
      resolve(failure);
    }
    copy.ready.on('data', () => done(undefined));
    copy.child.on('exit', onExit);
    copy.child.on('error', onError);
  });
}
