// Compiled tables that more than one test starts from: the loader's corruption tests and its
// sanitizer run mutate the same valid tables (docs/testing.md: "Table fixtures").
import { parseClassicConfig } from '../src/config/classic-parser';
import { compileSingleTarget, compileTable } from '../src/table/compile';

/** A classic config, given line by line, compiled. */
export function compileClassic(lines: readonly string[], pathSubstitution: boolean): Buffer {
  return compileTable(parseClassicConfig(lines.join('\n'), 'fixture.conf'), { pathSubstitution }).bytes;
}

/** -S: every connection to /run/single.sock. */
export const singleUnixTargetTable = (): Buffer => compileSingleTarget({ kind: 'unix', path: '/run/single.sock' }, { pathSubstitution: false }).bytes;

/** -i: every connection to descriptor 9, exit when its peer is gone. */
export const singleFdTargetTable = (): Buffer => compileSingleTarget({ kind: 'fd', fd: 9, exitOnPeerGone: true }, { pathSubstitution: false }).bytes;

/** A map and no rule set: no start set, every lookup is no_match. */
export const noRuleSetsTable = (): Buffer => compileClassic(['max-maps:1', 'map-set:0 size:1', 'jump-fd:1'], false);

/**
 * Every kind of entry and action in a few records: sets 0 and 1 rule sets, set 2 a map; targets
 * 0 firstTarget (a path), 1 descriptor 7, 2 @abstract. Compiled with path substitution (-U).
 */
export function rulesAndMapTable(firstTarget: string): Buffer {
  return compileClassic(
    [
      'max-rules:2 max-maps:1',
      'rule-set:0 size:3',
      `ip:2001:db8::/32 port:80 jump-unix:${firstTarget}`,
      'rip:::ffff:10.0.0.0/104 jump-map:0',
      'jump-fd:7',
      'default jump-rule:1',
      'rule-set:1 size:1',
      'port:22 jump-unix:@abstract',
      'default fail',
      'map-set:0 size:3 match-lip:128 match-rport',
      'ip:::3 rport:2 jump-rule:0',
      'ip:::1 rport:1 jump-fd:7',
      'ip:::2 rport:1 fail',
    ],
    true,
  );
}
