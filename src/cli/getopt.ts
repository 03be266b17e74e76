import { UsageError } from './usage-error';

/** One option a program accepts: a short letter, a long name, or both. */
export interface OptionSpec {
  key: string;
  short?: string;
  long?: string;
  takesValue: boolean;
}

/** How a program words its usage errors. */
export interface GetoptStyle {
  /** What a missing value is called in "option -p needs a value": the client programs say "argument". */
  valueNoun?: 'value' | 'argument';
}

/**
 * Options in getopt(3)'s notation: letters, each followed by ':' when it takes a value
 * ("rs:"), and long names, each ending in '=' when it takes one (["max-children="]).
 * Each option's key is its letter or its long name.
 */
export function optionSpecs(letters: string, longNames: readonly string[] = []): OptionSpec[] {
  const specs: OptionSpec[] = [];
  for (const m of letters.matchAll(/([^:])(:?)/g)) specs.push({ key: m[1], short: m[1], takesValue: m[2] === ':' });
  for (const name of longNames) {
    const takesValue = name.endsWith('=');
    const long = takesValue ? name.slice(0, -1) : name;
    specs.push({ key: long, long, takesValue });
  }
  return specs;
}

export interface ParsedOption {
  key: string;
  value: string | undefined;
  spelled: string; // as the user wrote it, for messages
}

/**
 * The command-line parser of every program (socketbox, socketbox-relay, the client programs):
 * getopt(3) with a leading '+' plus GNU long options: short options group
 * (-tFr), values attach or follow (-p8080, -p 8080), long values use = or
 * follow, and parsing stops at the first operand or at "--", so that
 * `-e PROG ARGS...` passes PROG's own options through untouched.
 */
export function getopt(argv: readonly string[], specs: readonly OptionSpec[], style: GetoptStyle = {}): { options: ParsedOption[]; operands: string[] } {
  const missing = style.valueNoun === 'argument' ? 'an argument' : 'a value';
  const needs = (spelled: string) => new UsageError(`option ${spelled} needs ${missing}`);
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const byLong = new Map(specs.filter((s) => s.long).map((s) => [s.long as string, s]));
  const options: ParsedOption[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
      if (!spec.takesValue) {
        if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
        options.push({ key: spec.key, value: undefined, spelled: `--${name}` });
        i++;
        continue;
      }
      let value: string | undefined;
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i];
      else throw needs(`--${name}`);
      options.push({ key: spec.key, value, spelled: `--${name}` });
      i++;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') break; // '+' mode: the first operand ends the options
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j];
      const spec = byShort.get(letter);
      if (!spec) throw new UsageError(`unknown option -${letter}`);
      if (!spec.takesValue) {
        options.push({ key: spec.key, value: undefined, spelled: `-${letter}` });
        continue;
      }
      let value: string;
      if (j + 1 < arg.length) value = arg.slice(j + 1);
      else if (i + 1 < argv.length) value = argv[++i];
      else throw needs(`-${letter}`);
      options.push({ key: spec.key, value, spelled: `-${letter}` });
      break;
    }
    i++;
  }
  return { options, operands: argv.slice(i) };
}
