/**
 * The kernel fast path at run time (docs/fast-path.md): loaded and attached before the
 * privilege drop, fed every table socketbox publishes, detached first on stop. When it
 * cannot run it says why once, and every connection goes through the accept loops.
 */
import type { JsonConfig } from '../config/json-model';
import { buildProductPath } from '../native/build-products';
import type { FastpathCounters, ServerAddon } from '../native/server-addon';
import type { CompiledTable } from '../table/compile';

const EPERM = 1;
const EINVAL = 22;
const EOPNOTSUPP = 95;

export interface FastPathLog {
  info(message: string): void;
  warn(message: string): void;
  /** --log-level debug: libbpf's own messages go to stderr too. */
  verbose?: boolean;
}

const THROUGH_LOOPS = 'every connection goes through the accept loops';

/** Why the kernel said no, in the terms an operator can act on. */
function explainFailure(err: Error & { errno?: number }): string {
  if (err.errno === EPERM) return `${err.message}; it needs CAP_BPF and CAP_NET_ADMIN (or root) at start-up`;
  if (err.errno === EINVAL || err.errno === EOPNOTSUPP) return `${err.message}; the kernel may lack BPF sk_lookup (Linux 5.9 or later)`;
  return err.message;
}

export class FastPath {
  private tooLargeLogged = false;

  private constructor(
    private readonly addon: ServerAddon,
    private readonly log: FastPathLog,
  ) {}

  /**
   * Loads and attaches the program, or says once why not and returns undefined. offBy: the
   * flag that turns it off (--no-fast-path, or --source-rate, which only the loops enforce).
   */
  static start(addon: ServerAddon, json: JsonConfig, listenFds: number[], offBy: string | undefined, log: FastPathLog): FastPath | undefined {
    if (offBy !== undefined) {
      log.info(`fast path off (${offBy}): ${THROUGH_LOOPS}`);
      return undefined;
    }
    if (json.finalNetns !== null) {
      log.info(`fast path off: socketbox moves to final_netns, away from its listeners; ${THROUGH_LOOPS}`);
      return undefined;
    }
    try {
      addon.fastpathStart(buildProductPath('bpfObject'), log.verbose === true);
    } catch (err) {
      log.warn(`fast path unavailable (${explainFailure(err as Error)}): ${THROUGH_LOOPS}`);
      return undefined;
    }
    const fp = new FastPath(addon, log);
    const inNamespace = addon.fastpathSetListeners(listenFds);
    if (inNamespace === 0) {
      fp.stop();
      log.info(`fast path off: no listener is in socketbox's network namespace; ${THROUGH_LOOPS}`);
      return undefined;
    }
    log.info(`fast path on: BPF sk_lookup attached for ${inNamespace} of ${listenFds.length} listener(s)`);
    return fp;
  }

  /** After the accept loops have the table: the program decides by it from now on. */
  publish(table: CompiledTable): void {
    let evaluated: boolean;
    try {
      evaluated = this.addon.fastpathPublish(table.bytes);
    } catch (err) {
      // The program then passes every connection: it never decides by an older table than the loops.
      this.log.warn(`fast path: ${(err as Error).message}; ${THROUGH_LOOPS} until the next reload`);
      return;
    }
    if (evaluated) {
      this.tooLargeLogged = false;
    } else if (!this.tooLargeLogged) {
      this.tooLargeLogged = true;
      this.log.warn(`fast path: the table is beyond what the BPF program evaluates (docs/fast-path.md); ${THROUGH_LOOPS} until a smaller one is loaded`);
    }
  }

  counters(): FastpathCounters {
    return this.addon.fastpathCounters();
  }

  /** New connections go to the accept loops again; listeners already handed over keep their queues. */
  stop(): void {
    this.addon.fastpathStop();
  }
}
