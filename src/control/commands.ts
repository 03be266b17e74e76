/**
 * The control socket's commands (docs/control.md), by name. Adding one is one entry here;
 * its handler gets the words after the command and answers (protocol.ts).
 */
import type { ControlContext } from './context';
import { explainLive } from './explain-live';
import type { Answer } from './protocol';
import { statusAnswer } from './status';

export interface Command {
  /** The arguments, for the usage error and `ctl --help`. */
  readonly args: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  /** A promise for a command that waits for something (the upgrade). */
  run(context: ControlContext, args: string[]): Answer | Promise<Answer>;
}

export const COMMANDS: Readonly<Record<string, Command>> = {
  status: { args: '', minArgs: 0, maxArgs: 0, run: (context) => statusAnswer(context) },
  reload: { args: '', minArgs: 0, maxArgs: 0, run: (context) => reloadAnswer(context) },
  explain: {
    args: 'LOCAL_ADDR LOCAL_PORT REMOTE_ADDR REMOTE_PORT [LISTENER]',
    minArgs: 4,
    maxArgs: 5,
    run: (context, args) => explainLive(context, args),
  },
  upgrade: { args: '', minArgs: 0, maxArgs: 0, run: (context) => upgradeAnswer(context) },
};

/** Answers once the new process serves (this one then stops) or the upgrade failed. */
async function upgradeAnswer(context: ControlContext): Promise<Answer> {
  const outcome = await context.upgrade();
  if (!outcome.ok) return { ok: false, error: `upgrade failed: ${outcome.reason}` };
  return { ok: true, text: [`ok pid ${outcome.pid}`], json: { pid: outcome.pid } };
}

/** Synchronous: the answer comes once the new rules serve (or the old ones were kept). */
function reloadAnswer(context: ControlContext): Answer {
  const outcome = context.reload('control socket');
  switch (outcome.result) {
    case 'reloaded':
      return { ok: true, text: [`ok generation ${outcome.generation}`], json: { generation: outcome.generation, reloaded: true } };
    case 'nothing to reload':
      return {
        ok: true,
        text: [`ok generation ${outcome.generation} (nothing to reload: ${outcome.why})`],
        json: { generation: outcome.generation, reloaded: false, why: outcome.why },
      };
    case 'failed':
      return { ok: false, error: outcome.reason };
  }
}
