// Option parsing with POSIX getopt rules (what the original programs used): options may be
// grouped (-la), an option argument may be attached (-f3) or separate (-f 3), and parsing
// stops at the first operand or at "--" (like getopt's "+" mode), so a program's own
// arguments after it are never taken for ours. Long options (--name, --name=VALUE or
// --name VALUE) are for what the original programs did not have.
import { UsageError } from './program-exit';

export interface ParsedOption {
  /** The option letter, e.g. 'l', or a long option's name, e.g. 'max-children'. */
  name: string;
  /** Its argument, for letters followed by ':' in the spec. */
  value?: string;
}

export interface ParsedArgs {
  /** Options in command-line order (order matters to socket-query's -l/-a). */
  options: ParsedOption[];
  /** Everything from the first operand on. */
  operands: string[];
}

/** --name[=VALUE] at args[i]; returns the index of the last argument it used. */
function longOption(args: readonly string[], i: number, longNames: readonly string[], options: ParsedOption[]): number {
  const arg = args[i];
  const eq = arg.indexOf('=');
  const name = arg.slice(2, eq < 0 ? undefined : eq);
  if (longNames.includes(name)) {
    if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
    options.push({ name });
    return i;
  }
  if (!longNames.includes(`${name}=`)) throw new UsageError(`unknown option --${name}`);
  if (eq >= 0) {
    options.push({ name, value: arg.slice(eq + 1) });
    return i;
  }
  if (i + 1 >= args.length) throw new UsageError(`option --${name} needs an argument`);
  options.push({ name, value: args[i + 1] });
  return i + 1;
}

/** spec lists the letters; a letter followed by ':' takes an argument ("aplrRf:"). longNames
 *  lists long options; a name ending in '=' takes an argument (["max-children="]). */
export function getopt(args: readonly string[], spec: string, longNames: readonly string[] = []): ParsedArgs {
  const options: ParsedOption[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      i = longOption(args, i, longNames, options);
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    for (let j = 1; j < arg.length; j++) {
      const name = arg[j];
      const at = spec.indexOf(name);
      if (name === ':' || at < 0) throw new UsageError(`unknown option -${name}`);
      if (spec[at + 1] !== ':') {
        options.push({ name });
        continue;
      }
      let value = arg.slice(j + 1);
      if (value === '') {
        if (i + 1 >= args.length) throw new UsageError(`option -${name} needs an argument`);
        value = args[++i];
      }
      options.push({ name, value });
      break;
    }
  }
  return { options, operands: args.slice(i) };
}
