import type { ServerOptions } from '../cli/server-flags';
import type { FastPath } from '../fastpath/fast-path';
import type { ReloadCounts } from '../metrics/registry';
import type { ServerAddon } from '../native/server-addon';
import type { AcceptPool } from '../server/accept-pool';
import type { ReloadOutcome } from '../server/reload';
import type { Upgrade } from '../server/upgrade/upgrade';

/** What the control commands read and call: the running server's parts. */
export interface ControlContext {
  addon: ServerAddon;
  options: ServerOptions;
  pool: AcceptPool;
  fastPath: FastPath | undefined;
  reloadCounts: ReloadCounts;
  /** The one reload (src/server/reload.ts), shared with SIGHUP. */
  reload(trigger: string): ReloadOutcome;
  /** The one live upgrade (src/server/upgrade/upgrade.ts), shared with SIGUSR2. */
  upgrade: Upgrade;
  /** How many listeners there are (LISTENER of a JSON config's explain is an index among them). */
  listenerCount: number;
  /** Date.now() when serving began. */
  startedAt: number;
  /** JSON configs (a registrar runs): the registrations held are reported. */
  registrar: boolean;
}
