/**
 * `explain`: how the running server routes one connection, asked of the native lookup on
 * the very table the accept loops use (the one published last), not of the file.
 */
import { substitutePath } from '../table/reference-lookup';
import { parseInteger, tupleFromOperands } from '../cli/values';
import { rulesGeneration } from '../server/reload';
import type { ControlContext } from './context';
import type { Answer } from './protocol';

export function explainLive(context: ControlContext, args: string[]): Answer {
  const [localAddr, localPort, remoteAddr, remotePort, listenerText] = args;
  const table = context.pool.liveTable;
  if (!table) return { ok: false, error: 'no rules are published yet' };
  let tuple: Uint8Array;
  let listener: number;
  try {
    tuple = tupleFromOperands(localAddr, localPort, remoteAddr, remotePort);
    listener = listenerText === undefined ? 0 : parseInteger(listenerText, 'LISTENER', 0, context.listenerCount - 1);
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  const decision = context.addon.tableLookup(table.bytes, Buffer.from(tuple), listener);
  const generation = rulesGeneration(context.reloadCounts);
  const connection = `local [${localAddr}]:${localPort}, remote [${remoteAddr}]:${remotePort}${listenerText === undefined ? '' : `, listener ${listener}`}`;
  if (decision.kind !== 'target') {
    const why = decision.kind === 'no_match' ? 'no match' : decision.kind;
    return {
      ok: true,
      text: [`ok refuse (${why})`, `connection: ${connection}`, `rules: generation ${generation}`],
      json: { decision: decision.kind, generation },
    };
  }
  const target = table.targetNames[decision.target ?? 0];
  const delivered = deliveredTo(context, target, tuple);
  return {
    ok: true,
    text: [`ok deliver to ${delivered}${delivered !== target ? ` (target ${target})` : ''}`, `connection: ${connection}`, `rules: generation ${generation}`],
    json: { decision: 'target', target, deliverTo: delivered, generation },
  };
}

/** -U: the path a template target turns into for this connection, as the loops substitute it. */
function deliveredTo(context: ControlContext, target: string, tuple: Uint8Array): string {
  if (!context.options.pathSubstitution || !target.startsWith('unix:')) return target;
  return `unix:${substitutePath(target.slice('unix:'.length), tuple)}`;
}
