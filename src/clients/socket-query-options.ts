// socket-query's command line, with the original's rules: -l / -r choose an end (the last
// one wins), -a / -p right after narrow it to the address or the port, -R asks for raw hex,
// -f FD picks the socket (default 0). Without -l or -r, both ends are printed.
import { getopt, optionSpecs } from '../cli/getopt';
import { UsageError } from '../cli/usage-error';
import { parseFd } from './parse-fd';
import { CLIENT_GETOPT_STYLE } from './program-exit';

export type End = 'local' | 'remote';
export type Part = 'endpoint' | 'address' | 'port';

export interface SocketQuery {
  /** undefined = both ends, local first. */
  end?: End;
  part: Part;
  raw: boolean;
  fd: number;
}

export function parseSocketQueryArgs(args: readonly string[]): SocketQuery {
  const { options, operands } = getopt(args, optionSpecs('aplrRf:'), CLIENT_GETOPT_STYLE);
  if (operands.length > 0) throw new UsageError(`unexpected argument '${operands[0]}'`);
  const query: SocketQuery = { part: 'endpoint', raw: false, fd: 0 };
  for (const { key: name, value } of options) {
    switch (name) {
      case 'l':
      case 'r':
        query.end = name === 'l' ? 'local' : 'remote';
        query.part = 'endpoint';
        break;
      case 'a':
      case 'p':
        if (query.end === undefined || query.part !== 'endpoint')
          throw new UsageError(`-${name} must follow -l or -r (e.g. -l${name})`);
        query.part = name === 'a' ? 'address' : 'port';
        break;
      case 'R':
        query.raw = true;
        break;
      case 'f':
        query.fd = parseFd(value!, '-f');
        break;
    }
  }
  return query;
}
