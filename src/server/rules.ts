import * as fs from 'node:fs';
import type { ServerOptions } from '../cli/server-flags';
import { parseClassicConfig } from '../config/classic-parser';
import { ConfigError } from '../config/config-error';
import type { Action, ClassicConfig } from '../config/model';
import { CompiledTable, compileSingleTarget, compileTable } from '../table/compile';
import type { DescriptorOrigins } from './descriptor-origins';

/** A rule table ready to publish, with what the operator is told about it. */
export interface CompiledRules {
  table: CompiledTable;
  description: string;
}

type ActionOf<K extends Action['kind']> = Extract<Action, { kind: K }>;

/** Every action of one kind in a config, with where it was written. */
function actionsOf<K extends Action['kind']>(config: ClassicConfig, kind: K): Array<ActionOf<K>> {
  const out: Array<ActionOf<K>> = [];
  for (const set of [...config.ruleSets, ...config.mapSets]) {
    for (const a of [...set.entries.map((e) => e.action), set.defaultAction]) {
      if (a && a.kind === kind) out.push(a as ActionOf<K>);
    }
  }
  return out;
}

/** An abstract name is not a file: --target-root cannot confine it, so it needs --allow-abstract-targets. */
function abstractTargetProblem(o: ServerOptions, path: string): string | null {
  if (o.targetRoot === undefined || o.allowAbstractTargets || !path.startsWith('@')) return null;
  return `${path} is an abstract socket, not a file beneath --target-root ${o.targetRoot}; pass --allow-abstract-targets to allow abstract targets`;
}

/** Parses and compiles a classic config; jump-fd and abstract targets are checked now, not per connection. */
export function compileConfigText(origins: DescriptorOrigins, text: string, file: string, o: ServerOptions): CompiledRules {
  const config = parseClassicConfig(text, file);
  for (const a of actionsOf(config, 'fd')) {
    const problem = origins.targetProblem(a.fd);
    if (problem) throw new ConfigError(file, a.at.line, a.at.column, problem);
  }
  for (const a of actionsOf(config, 'unix')) {
    const problem = abstractTargetProblem(o, a.path);
    if (problem) throw new ConfigError(file, a.at.line, a.at.column, problem);
  }
  const table = compileTable(config, { pathSubstitution: o.pathSubstitution });
  const sets = config.ruleSets.filter((s) => s.declaredAt).length + config.mapSets.filter((s) => s.declaredAt).length;
  const entries = [...config.ruleSets, ...config.mapSets].reduce((n, s) => n + s.entries.length, 0);
  return { table, description: `${file}: ${sets} sets, ${entries} entries` };
}

/** -S PATH / -i FD: every connection to one target, no config file. */
export function compileForcedTarget(origins: DescriptorOrigins, o: ServerOptions): CompiledRules | null {
  if (o.forcedUnixPath !== undefined) {
    const problem = abstractTargetProblem(o, o.forcedUnixPath);
    if (problem) throw new Error(`-S: ${problem}`);
    return {
      table: compileSingleTarget({ kind: 'unix', path: o.forcedUnixPath }, { pathSubstitution: o.pathSubstitution }),
      description: `every connection to unix:${o.forcedUnixPath}`,
    };
  }
  if (o.forcedFd !== undefined) {
    const problem = origins.targetProblem(o.forcedFd);
    if (problem) throw new Error(`-i ${o.forcedFd}: ${problem}`);
    return {
      table: compileSingleTarget({ kind: 'fd', fd: o.forcedFd, exitOnPeerGone: true }, { pathSubstitution: false }),
      description: `every connection over fd ${o.forcedFd}`,
    };
  }
  return null;
}

/** Reads the config file; kept apart from parsing: read before chroot, parsed after (docs/startup.md). */
export function readConfigFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config ${file}: ${(err as Error).message}`, { cause: err });
  }
}
