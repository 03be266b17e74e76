// The options socketbox-inetd and socketbox-inetd-p share, before their operands.
import { getopt, optionSpecs } from '../cli/getopt';
import { UsageError } from '../cli/usage-error';
import { DEFAULT_MAX_CHILDREN } from './inetd-server';
import { CLIENT_GETOPT_STYLE } from './program-exit';

/** Far above any sensible limit; only there so a typo is not taken for "no limit". */
const MAX_CHILDREN_LIMIT = 1_000_000;

export interface InetdCommandLine {
  maxChildren: number;
  /** -L / --listener (socketbox-inetd-p only): register in listener mode. */
  listenerMode: boolean;
  operands: string[];
}

export const INETD_OPTIONS_USAGE = `Options:
  --max-children N   run at most N programs at once (default ${DEFAULT_MAX_CHILDREN}, 1..${MAX_CHILDREN_LIMIT});
                     further connections wait in the socket queue until one exits, and once
                     that is full socketbox waits (up to its --dispatch-timeout): nothing is
                     dropped here.`;

function parseMaxChildren(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > MAX_CHILDREN_LIMIT)
    throw new UsageError(`--max-children: expected a whole number from 1 to ${MAX_CHILDREN_LIMIT}, not '${text}'`);
  return Number(text);
}

/** `registration`: the options of socketbox-inetd-p, which registers at a server, too. */
export function parseInetdCommandLine(args: readonly string[], registration = false): InetdCommandLine {
  const specs = optionSpecs(registration ? 'L' : '', ['max-children=', ...(registration ? ['listener'] : [])]);
  const { options, operands } = getopt(args, specs, CLIENT_GETOPT_STYLE);
  let maxChildren = DEFAULT_MAX_CHILDREN;
  let listenerMode = false;
  for (const option of options) {
    if (option.key === 'max-children') maxChildren = parseMaxChildren(option.value!);
    else listenerMode = true; // -L or --listener
  }
  return { maxChildren, listenerMode, operands };
}
