// The options socketbox-inetd and socketbox-inetd-p share, before their operands.
import { getopt } from './getopt';
import { DEFAULT_MAX_CHILDREN } from './inetd-server';
import { UsageError } from './program-exit';

/** Far above any sensible limit; only there so a typo is not taken for "no limit". */
const MAX_CHILDREN_LIMIT = 1_000_000;

export interface InetdCommandLine {
  maxChildren: number;
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

export function parseInetdCommandLine(args: readonly string[]): InetdCommandLine {
  const { options, operands } = getopt(args, '', ['max-children=']);
  let maxChildren = DEFAULT_MAX_CHILDREN;
  for (const option of options) if (option.name === 'max-children') maxChildren = parseMaxChildren(option.value!);
  return { maxChildren, operands };
}
