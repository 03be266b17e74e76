import * as fs from 'node:fs';
import type { ServerAddon } from '../native/server-addon';
import type { ServerOptions } from '../cli/server-flags';
import { parseClassicConfig } from '../config/classic-parser';
import { ConfigError } from '../config/config-error';
import type { Action, ClassicConfig } from '../config/model';
import { compileSingleTarget, compileTable } from '../table/compile';

/** A rule table ready to publish, with what the operator is told about it. */
export interface CompiledRules {
  table: Buffer;
  description: string;
}

/** Every `jump-fd` of a config, with where it was written. */
function fdActions(config: ClassicConfig): Array<Extract<Action, { kind: 'fd' }>> {
  const out: Array<Extract<Action, { kind: 'fd' }>> = [];
  for (const set of [...config.ruleSets, ...config.mapSets]) {
    for (const a of [...set.entries.map((e) => e.action), set.defaultAction]) {
      if (a && a.kind === 'fd') out.push(a);
    }
  }
  return out;
}

/** A jump-fd / -i descriptor must be an open socket now, not fail for every connection later. */
function fdProblem(addon: ServerAddon, fd: number): string | null {
  const d = addon.describeFd(fd);
  if (!d.open) return `descriptor ${fd} is not open (jump-fd needs a socket inherited from the parent)`;
  if (!d.socket) return `descriptor ${fd} is not a socket`;
  return null;
}

export function compileConfigText(addon: ServerAddon, text: string, file: string, o: ServerOptions): CompiledRules {
  const config = parseClassicConfig(text, file);
  for (const a of fdActions(config)) {
    const problem = fdProblem(addon, a.fd);
    if (problem) throw new ConfigError(file, a.at.line, a.at.column, problem);
  }
  const table = compileTable(config, { pathSubstitution: o.pathSubstitution });
  const sets = config.ruleSets.filter((s) => s.declaredAt).length + config.mapSets.filter((s) => s.declaredAt).length;
  const entries = [...config.ruleSets, ...config.mapSets].reduce((n, s) => n + s.entries.length, 0);
  return { table, description: `${file}: ${sets} sets, ${entries} entries` };
}

/** -S PATH / -i FD: every connection to one target, no config file. */
export function compileForcedTarget(addon: ServerAddon, o: ServerOptions): CompiledRules | null {
  if (o.forcedUnixPath !== undefined) {
    return {
      table: compileSingleTarget({ kind: 'unix', path: o.forcedUnixPath }, { pathSubstitution: o.pathSubstitution }),
      description: `every connection to unix:${o.forcedUnixPath}`,
    };
  }
  if (o.forcedFd !== undefined) {
    const problem = fdProblem(addon, o.forcedFd);
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
    throw new Error(`cannot read config ${file}: ${(err as Error).message}`);
  }
}
