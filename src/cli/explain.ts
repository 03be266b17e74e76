/**
 * `socketbox --explain`: shows how the reference lookup decided one
 * connection — each set visited and the final decision.
 */
import { formatIPv6 } from '../net/address';
import { MAX_LOOKUP_STEPS, ReferenceLookup, substitutePath } from '../table/reference-lookup';

export interface ExplainOptions {
  /** `-U`: show the path a template target turns into for this connection. */
  readonly pathSubstitution?: boolean;
}

/** A loop visits 100 sets; show its start and end rather than all of it. */
const STEPS_SHOWN_AT_START = 10;
const STEPS_SHOWN_AT_END = 5;

function endpoint(tuple: Uint8Array, addressOffset: number, portOffset: number): string {
  const port = (tuple[portOffset] << 8) | tuple[portOffset + 1];
  return `[${formatIPv6(tuple.subarray(addressOffset, addressOffset + 16))}]:${port}`;
}

function decision(lookup: ReferenceLookup, tuple: Uint8Array, opts: ExplainOptions): string {
  const result = lookup.result;
  switch (result.kind) {
    case 'unix': {
      const path = opts.pathSubstitution ? substitutePath(result.path, tuple) : result.path;
      const template = path !== result.path ? ` (template ${result.path})` : '';
      return `deliver to unix:${path}${template}`;
    }
    case 'fd':
      return `deliver to fd:${result.fd}`;
    case 'fail':
      return 'close (fail)';
    case 'no_match':
      return lookup.steps.length === 0 ? 'close (no match: there is no rule set 0, max-rules not given)' : 'close (no match)';
    case 'loop':
      return `close (loop: gave up after ${MAX_LOOKUP_STEPS} steps)`;
  }
}

/** The explanation text: the connection, one line per step, the decision. */
export function formatExplanation(lookup: ReferenceLookup, tuple: Uint8Array, opts: ExplainOptions = {}): string {
  const lines = [`connection: local ${endpoint(tuple, 0, 32)}, remote ${endpoint(tuple, 16, 34)}`];
  const stepLines = lookup.steps.map(
    (step) => `${step.set} ${step.line === null ? 'default' : `line ${step.line}`} -> ${step.action}`,
  );
  if (stepLines.length > STEPS_SHOWN_AT_START + STEPS_SHOWN_AT_END + 1) {
    const hidden = stepLines.length - STEPS_SHOWN_AT_START - STEPS_SHOWN_AT_END;
    lines.push(
      ...stepLines.slice(0, STEPS_SHOWN_AT_START),
      `... ${hidden} more steps ...`,
      ...stepLines.slice(stepLines.length - STEPS_SHOWN_AT_END),
    );
  } else {
    lines.push(...stepLines);
  }
  lines.push(`decision: ${decision(lookup, tuple, opts)}`);
  return `${lines.join('\n')}\n`;
}
