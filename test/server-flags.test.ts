/**
 * The `socketbox` command line: getopt(3) with '+' plus GNU long options
 * (src/cli/getopt.ts) and the flag checks on top (src/cli/server-flags.ts).
 */
import * as os from 'node:os';
import t, { Test } from 'tap';
import { getopt, OptionSpec } from '../src/cli/getopt';
import { parseServerFlags, ServerOptions } from '../src/cli/server-flags';
import { UsageError } from '../src/cli/usage-error';

const SPECS: OptionSpec[] = [
  { key: 'a', short: 'a', takesValue: false },
  { key: 'b', short: 'b', takesValue: false },
  { key: 'v', short: 'v', long: 'value', takesValue: true },
  { key: 'flag', long: 'flag', takesValue: false },
  { key: 'n', long: 'name', takesValue: true },
];

const parse = (...argv: string[]) => getopt(argv, SPECS);
const keys = (...argv: string[]) => parse(...argv).options.map((o) => [o.key, o.value]);

/** Asserts that `fn` throws a UsageError whose message matches `message`. */
function usageError(t: Test, fn: () => unknown, message: RegExp | string, name?: string): void {
  const label = name ?? String(message);
  try {
    fn();
    t.fail(`${label}: no error`);
  } catch (err) {
    t.type(err, UsageError, `${label}: a UsageError`);
    if (typeof message === 'string') t.equal((err as Error).message, message, label);
    else t.match((err as Error).message, message, label);
  }
}

const flags = (...argv: string[]) => parseServerFlags(argv);

t.test('getopt: short options', async (t) => {
  t.same(keys('-a', '-b'), [
    ['a', undefined],
    ['b', undefined],
  ]);
  t.same(keys('-ab'), [
    ['a', undefined],
    ['b', undefined],
  ], 'grouped flags');
  t.same(keys('-abv3'), [
    ['a', undefined],
    ['b', undefined],
    ['v', '3'],
  ], 'a value ends a group and takes the rest of the word');
  t.same(keys('-v3ab'), [['v', '3ab']], 'everything after the value letter is the value');
  t.same(keys('-v', '3'), [['v', '3']], 'separate value');
  t.same(keys('-av', '3'), [
    ['a', undefined],
    ['v', '3'],
  ], 'value letter last in a group takes the next word');
  t.same(keys('-v', '-a'), [['v', '-a']], 'the next word is the value even when it looks like an option');
  t.same(keys('-v', '--'), [['v', '--']], 'even "--"');
  t.same(keys('-v', ''), [['v', '']], 'an empty next word is a value');
  t.same(parse('-a', '-a').options.length, 2, 'repeats are kept in order');
  t.same(parse('-ab').options.map((o) => o.spelled), ['-a', '-b'], 'spelled as single letters');
});

t.test('getopt: long options', async (t) => {
  t.same(keys('--flag'), [['flag', undefined]]);
  t.same(keys('--name=x'), [['n', 'x']], 'value after =');
  t.same(keys('--name', 'x'), [['n', 'x']], 'value in the next word');
  t.same(keys('--name='), [['n', '']], 'empty value after =');
  t.same(keys('--name=a=b'), [['n', 'a=b']], 'only the first = separates');
  t.same(keys('--name', '--flag'), [['n', '--flag']], 'the next word is taken as the value');
  t.same(keys('--value=7', '-v8'), [
    ['v', '7'],
    ['v', '8'],
  ], 'one option with both spellings');
  t.same(parse('--value=7').options[0].spelled, '--value');
  usageError(t, () => parse('--flag=1'), 'option --flag takes no value');
  usageError(t, () => parse('--name'), 'option --name needs a value');
  usageError(t, () => parse('--nope'), 'unknown option --nope');
  usageError(t, () => parse('--nope=3'), 'unknown option --nope', 'unknown long option with a value');
  usageError(t, () => parse('--nam', 'x'), 'unknown option --nam', 'no abbreviations');
  usageError(t, () => parse('--a'), 'unknown option --a', 'a short letter is not a long option');
});

t.test('getopt: errors in short options', async (t) => {
  usageError(t, () => parse('-x'), 'unknown option -x');
  usageError(t, () => parse('-ax'), 'unknown option -x', 'unknown letter inside a group');
  usageError(t, () => parse('-v'), 'option -v needs a value');
  usageError(t, () => parse('-av'), 'option -v needs a value', 'value letter ending the last group');
});

t.test("getopt: '+' semantics and --", async (t) => {
  t.same(parse('-a', 'prog', '-b', '-x'), { options: [{ key: 'a', value: undefined, spelled: '-a' }], operands: ['prog', '-b', '-x'] }, 'the first operand ends the options');
  t.same(parse('prog', '-a').operands, ['prog', '-a']);
  t.same(parse('-a', '--', '-b').options.length, 1, '-- ends the options');
  t.same(parse('-a', '--', '-b').operands, ['-b'], '-- itself is dropped');
  t.same(parse('--', '--').operands, ['--'], 'only the first -- is special');
  t.same(parse('-a', '-', '-b').operands, ['-', '-b'], "a lone '-' is an operand");
  t.same(parse().operands, []);
  t.same(parse('--').operands, []);
  t.same(parse('-v', 'x', 'y').operands, ['y'], 'a consumed value is not an operand');
});

t.test('defaults', async (t) => {
  const o = flags();
  t.match(o, {
    configFile: '/etc/socketbox.conf',
    listenAddress: '::',
    port: 80,
    transparent: false,
    freebind: false,
    reuseaddr: true,
    reuseport: false,
    backlog: 4096,
    exec: false,
    keepGroups: false,
    daemonize: false,
    clearTransparent: false,
    pathSubstitution: false,
    workers: 1,
    maxPending: 4096,
    maxPendingPerTarget: 1024,
    dispatchTimeoutMs: 2000,
    drainTimeoutMs: 5000,
    maxCachedTargets: 1024,
    schedPolicy: 'batch',
    allowAbstractTargets: false,
    mode: 'serve',
    operands: [],
  });
  for (const key of ['inheritedListenFd', 'user', 'group', 'supplementaryGroups', 'chrootDir', 'forcedUnixPath', 'forcedFd', 'registration'] as const) {
    t.equal(o[key], undefined, `${key} unset`);
  }
});

t.test('flags, grouped and spelled apart', async (t) => {
  const grouped = flags('-tFr');
  t.match(grouped, { transparent: true, freebind: true, reuseport: true, reuseaddr: true });
  t.same(flags('-t', '-F', '-r'), grouped, 'the same as separate flags');
  t.match(flags('-RzdkU'), { reuseaddr: false, clearTransparent: true, daemonize: true, keepGroups: true, pathSubstitution: true });
  t.equal(flags('-p8080').port, 8080, 'attached value');
  t.equal(flags('-p', '8080').port, 8080, 'separate value');
  t.equal(flags('-tp8080').port, 8080, 'value after a flag in a group');
  t.match(flags('-tp', '8080'), { transparent: true, port: 8080 });
  t.equal(flags('-p', '0').port, 0, 'port 0');
  t.equal(flags('-p', '65535').port, 65535);
  t.equal(flags('-p', '080').port, 80, 'leading zeros are still decimal');
  t.equal(flags('-p', '81', '-p', '82').port, 82, 'the last value wins');
  t.match(
    flags('-f', '/x.conf', '-l', '::1', '-b', '16', '-s', '3', '-u', 'nobody', '-g', 'nogroup', '-G', 'a,b', '-x', '/var/empty'),
    {
      configFile: '/x.conf',
      listenAddress: '::1',
      backlog: 16,
      inheritedListenFd: 3,
      user: 'nobody',
      group: 'nogroup',
      supplementaryGroups: ['a', 'b'],
      chrootDir: '/var/empty',
    },
  );
  t.same(flags('-G', 'a,,b,').supplementaryGroups, ['a', 'b'], 'empty group names are skipped');
  t.equal(flags('-f', '-t').configFile, '-t', 'a value may start with -');
  t.equal(flags('-f-').configFile, '-');
});

t.test('user and group ids: 0..4294967294, checked before anything starts', async (t) => {
  t.match(flags('-u', '4294967294', '-g', '0', '-G', '1,4294967294'), { user: '4294967294', group: '0', supplementaryGroups: ['1', '4294967294'] }, 'the largest id and 0 are ids');
  // Each of these would wrap around to 0 (root) in a 32-bit id, or mean "unchanged" to setresuid().
  usageError(t, () => flags('-u', '4294967296'), '-u: 4294967296 is out of range (0..4294967294)');
  usageError(t, () => flags('-u', '4294967295'), '-u: 4294967295 is out of range (0..4294967294)');
  usageError(t, () => flags('-u', '-1'), '-u: -1 is out of range (0..4294967294)');
  usageError(t, () => flags('-g', '18446744073709551616'), '-g: 18446744073709551616 is out of range (0..4294967294)');
  usageError(t, () => flags('-G', 'adm,+4294967296'), '-G: +4294967296 is out of range (0..4294967294)');
  t.equal(flags('-u', 'user-1').user, 'user-1', 'a name with digits is still a name');
});

t.test('numbers: strict decimal within range', async (t) => {
  usageError(t, () => flags('-p', '80x'), "-p: expected a whole number, got '80x'");
  usageError(t, () => flags('-p80x'), "-p: expected a whole number, got '80x'", 'attached junk');
  usageError(t, () => flags('-p', '70000'), '-p: 70000 is out of range (0..65535)');
  usageError(t, () => flags('-p', '65536'), '-p: 65536 is out of range (0..65535)');
  usageError(t, () => flags('-b', '-1'), "-b: expected a whole number, got '-1'");
  usageError(t, () => flags('-b', '0'), '-b: 0 is out of range (1..1073741824)');
  for (const bad of ['', ' 80', '80 ', '+80', '0x50', '8e1', '80.0', '1_000', 'eighty', '٨٠']) {
    usageError(t, () => flags('-p', bad), /^-p: expected a whole number/, `-p '${bad}'`);
  }
  usageError(t, () => flags('-p', '99999999999999999999999'), /^-p: 99999999999999999999999 is out of range/, 'huge numbers');
  usageError(t, () => flags('-s', 'x'), /^-s: expected a whole number/);
  usageError(t, () => flags('-i', '-3'), /^-i: expected a whole number/);
  usageError(t, () => flags('-i', '1073741825'), /^-i: 1073741825 is out of range/);
  usageError(t, () => flags('--max-pending', '0'), /^--max-pending: 0 is out of range/);
  usageError(t, () => flags('--max-targets=1048577'), /^--max-targets: 1048577 is out of range/);
  t.equal(flags('--max-pending=16').maxPending, 16);
  t.equal(flags('--max-targets', '1').maxCachedTargets, 1);
  t.equal(flags('--sched-policy', 'other').schedPolicy, 'other');
  t.equal(flags('--sched-policy=batch').schedPolicy, 'batch');
  usageError(t, () => flags('--sched-policy', 'fifo'), /^--sched-policy: expected one of batch, other, adaptive, got 'fifo'/);
  usageError(t, () => flags('--sched-policy'), /--sched-policy/);
});

t.test('--max-pending-per-target: a quarter of --max-pending unless given, never more than it', async (t) => {
  t.equal(flags('--max-pending', '512').maxPendingPerTarget, 128, 'a quarter of the budget');
  t.equal(flags('--max-pending', '10').maxPendingPerTarget, 3, 'rounded up');
  t.equal(flags('--max-pending', '1').maxPendingPerTarget, 1, 'at least one');
  t.equal(flags('--max-pending-per-target', '5').maxPendingPerTarget, 5);
  t.equal(flags('--max-pending-per-target=64', '--max-pending', '64').maxPendingPerTarget, 64, 'the whole budget, in any order');
  usageError(t, () => flags('--max-pending-per-target', '0'), /^--max-pending-per-target: 0 is out of range/);
  usageError(t, () => flags('--max-pending-per-target', '5000'), '--max-pending-per-target: 5000 is more than --max-pending (4096)');
  usageError(t, () => flags('--max-pending', '8', '--max-pending-per-target', '9'), '--max-pending-per-target: 9 is more than --max-pending (8)');
});

t.test('--workers', async (t) => {
  t.equal(flags('--workers', '4').workers, 4);
  t.equal(flags('--workers=256').workers, 256);
  t.equal(flags('--workers', 'auto').workers, Math.max(1, os.availableParallelism()));
  t.equal(flags('--workers=auto').workers, Math.max(1, os.availableParallelism()));
  usageError(t, () => flags('--workers', '0'), /^--workers: 0 is out of range \(1\.\.256\)/);
  usageError(t, () => flags('--workers', '257'), /^--workers: 257 is out of range/);
  usageError(t, () => flags('--workers', 'AUTO'), /^--workers: expected a whole number/);
  usageError(t, () => flags('--workers', '2x'), /^--workers: expected a whole number/);
  usageError(t, () => flags('--workers'), 'option --workers needs a value');
  usageError(t, () => flags('--workers', '2', '-e', 'prog'), '-e execs another program: --workers does not apply');
  t.match(flags('--workers', '1', '-e', 'prog'), { exec: true, workers: 1 }, 'one worker is fine with -e');
});

t.test('durations', async (t) => {
  const ms = (text: string) => flags('--dispatch-timeout', text).dispatchTimeoutMs;
  t.equal(ms('2'), 2000, 'a bare number is seconds');
  t.equal(ms('2s'), 2000);
  t.equal(ms('500ms'), 500);
  t.equal(ms('1.5s'), 1500);
  t.equal(ms('1.5'), 1500);
  t.equal(ms('0.25s'), 250);
  t.equal(ms('86400s'), 86_400_000, 'one day is the limit');
  t.equal(flags('--drain-timeout=750ms').drainTimeoutMs, 750);
  t.equal(flags('--drain-timeout', '3').drainTimeoutMs, 3000);
  for (const bad of ['', 's', 'ms', '2m', '2h', '-1', '-1s', '2 s', ' 2s', '2S', '2MS', '.5s', '5.s', '1e3', '0x10', 'Infinity', 'NaN', '2ss', '2sms']) {
    usageError(t, () => flags('--dispatch-timeout', bad), /^--dispatch-timeout: expected a duration like 2s or 500ms/, `duration '${bad}'`);
  }
  usageError(t, () => flags('--dispatch-timeout', '86401s'), /^--dispatch-timeout: 86401s is out of range \(at most 1 day\)/);
  usageError(t, () => flags('--drain-timeout', '1' + '0'.repeat(400)), /out of range/, 'an enormous number');
  usageError(t, () => flags('--drain-timeout'), 'option --drain-timeout needs a value');
});

t.test('-S and -i replace each other', async (t) => {
  const unixThenFd = flags('-S', '/run/a.sock', '-i', '3');
  t.equal(unixThenFd.forcedFd, 3);
  t.equal(unixThenFd.forcedUnixPath, undefined);
  const fdThenUnix = flags('-i', '3', '-S', '/run/a.sock');
  t.equal(fdThenUnix.forcedUnixPath, '/run/a.sock');
  t.equal(fdThenUnix.forcedFd, undefined);
  t.equal(flags('-S', '/a', '-S', '@b').forcedUnixPath, '@b', 'last -S wins');
  t.equal(flags('-i', '0').forcedFd, 0, 'descriptor 0');
  usageError(t, () => flags('-S', ''), '-S: the value must not be empty');
  usageError(t, () => flags('-S'), 'option -S needs a value');
  usageError(t, () => flags('-S', '@'), "-S: the abstract socket name after '@' is empty");
});

t.test('-S path length', async (t) => {
  const p107 = '/' + 'a'.repeat(106);
  t.equal(flags('-S', p107).forcedUnixPath, p107, '107 bytes is fine');
  t.equal(flags('-S', '@' + 'a'.repeat(106)).forcedUnixPath?.length, 107, 'abstract, 107 bytes');
  usageError(t, () => flags('-S', p107 + 'a'), '-S: the path is 108 bytes; the limit is 107');
  usageError(t, () => flags('-S', '/' + 'a'.repeat(500)), '-S: the path is 501 bytes; the limit is 107');
  // Bytes, not characters: 54 two-byte characters are 108 bytes.
  usageError(t, () => flags('-S', '\u00e9'.repeat(54)), '-S: the path is 108 bytes; the limit is 107', 'multi-byte characters count as bytes');
  t.ok(flags('-S', '\u00e9'.repeat(53) + 'a').forcedUnixPath, '53 two-byte characters and one more byte: 107 bytes');
  t.equal(flags('-S', p107 + 'a', '-i', '4').forcedFd, 4, 'a later -i replaces the too-long path');
});

t.test('--allow-abstract-targets only with --target-root', async (t) => {
  t.match(flags('--target-root', '/srv', '--allow-abstract-targets'), { targetRoot: '/srv', allowAbstractTargets: true });
  usageError(t, () => flags('--allow-abstract-targets'), '--allow-abstract-targets only applies with --target-root (without it, abstract targets are allowed anyway)');
});

t.test('--source-rate RATE[:BURST][/PREFIXLEN[,PREFIXLEN4]]', async (t) => {
  const rate = (value: string) => flags('--source-rate', value).sourceRate;
  t.equal(flags().sourceRate, undefined, 'off by default');
  t.same(rate('100'), { rateMilli: 100_000, burst: 100, prefixV6: 64, prefixV4: 32 }, 'BURST defaults to RATE; /64 and /32');
  t.same(rate('100:50'), { rateMilli: 100_000, burst: 50, prefixV6: 64, prefixV4: 32 }, 'RATE:BURST');
  t.same(rate('100:50/48'), { rateMilli: 100_000, burst: 50, prefixV6: 48, prefixV4: 32 }, 'PREFIXLEN: IPv6 only');
  t.same(rate('5/56,24'), { rateMilli: 5000, burst: 5, prefixV6: 56, prefixV4: 24 }, 'PREFIXLEN,PREFIXLEN4');
  t.same(rate('0.5:2'), { rateMilli: 500, burst: 2, prefixV6: 64, prefixV4: 32 }, 'a decimal rate: one every 2 s');
  t.same(rate('0.25'), { rateMilli: 250, burst: 1, prefixV6: 64, prefixV4: 32 }, 'a rate below 1: the bucket still holds one');
  t.same(rate('1000000:1000000/128,32'), { rateMilli: 1e9, burst: 1e6, prefixV6: 128, prefixV4: 32 }, 'the largest values');
  t.same(rate('1/0,0'), { rateMilli: 1000, burst: 1, prefixV6: 0, prefixV4: 0 }, 'prefix 0: one bucket for everyone');
  t.equal(flags('--source-rate=7').sourceRate?.rateMilli, 7000, '--source-rate=VALUE');
  const syntax = /^--source-rate: expected RATE\[:BURST\]\[\/PREFIXLEN\[,PREFIXLEN4\]\]/;
  for (const bad of ['', 'x', '-1', '1e3', '10:', ':5', '10/', '10/64,', '10:5:5', '10/64/24', '0.0001', ' 10', '10 ', '1.', '.5'])
    usageError(t, () => flags('--source-rate', bad), syntax, `'${bad}': syntax`);
  usageError(t, () => flags('--source-rate', '0'), '--source-rate: RATE 0 is out of range (0.001..1000000 connections per second)');
  usageError(t, () => flags('--source-rate', '0.000'), /RATE 0.000 is out of range/);
  usageError(t, () => flags('--source-rate', '1000000.001'), /RATE 1000000.001 is out of range/);
  usageError(t, () => flags('--source-rate', '10:0'), '--source-rate: BURST 0 is out of range (1..1000000)');
  usageError(t, () => flags('--source-rate', '10:1000001'), /BURST 1000001 is out of range/);
  usageError(t, () => flags('--source-rate', '10/129'), '--source-rate: PREFIXLEN 129 is out of range (0..128)');
  usageError(t, () => flags('--source-rate', '10/64,33'), '--source-rate: PREFIXLEN4 33 is out of range (0..32)');
  usageError(t, () => flags('--source-rate'), /--source-rate/, 'a value is required');
});

t.test('-e and operands', async (t) => {
  const o = flags('-e', 'prog', '-x', '-y');
  t.equal(o.exec, true);
  t.same(o.operands, ['prog', '-x', '-y'], "prog's own options are left to prog");
  t.equal(o.chrootDir, undefined, '-x after the program is not socketbox -x');
  t.same(flags('-p', '81', '-e', 'prog', '-p', '82').port, 81, 'options after the program are not parsed');
  t.same(flags('-e', '--', '-prog', '--').operands, ['-prog', '--'], '-- before a program whose name starts with -');
  t.same(flags('-te', 'prog').operands, ['prog'], '-e in a group');
  t.same(flags('-e', 'prog').operands, ['prog']);
  usageError(t, () => flags('-e'), '-e needs a PROGRAM to run');
  usageError(t, () => flags('-e', '--'), '-e needs a PROGRAM to run', '-e with only --');
  usageError(t, () => flags('-e', '-p', '81'), '-e needs a PROGRAM to run', '-e followed by options only');
  usageError(t, () => flags('prog'), "unexpected argument 'prog' (did you mean -e?)");
  usageError(t, () => flags('-p', '81', 'prog', 'arg'), "unexpected argument 'prog' (did you mean -e?)", 'stray operand after options');
  usageError(t, () => flags('--', '-t'), "unexpected argument '-t' (did you mean -e?)", 'an operand after --');
  usageError(t, () => flags('-'), "unexpected argument '-' (did you mean -e?)");
});

t.test('unknown options and missing values', async (t) => {
  usageError(t, () => flags('-q'), 'unknown option -q');
  usageError(t, () => flags('-tq'), 'unknown option -q');
  usageError(t, () => flags('-I', 'eth0'), 'unknown option -I');
  usageError(t, () => flags('--port', '80'), 'unknown option --port');
  usageError(t, () => flags('--check=yes'), 'option --check takes no value');
  usageError(t, () => flags('--help=1'), 'option --help takes no value');
  for (const letter of ['f', 'l', 'p', 'b', 's', 'u', 'g', 'G', 'x', 'S', 'i', 'P']) {
    usageError(t, () => flags(`-${letter}`), `option -${letter} needs a value`);
    usageError(t, () => flags('-t', `-${letter}`), `option -${letter} needs a value`, `-${letter} last`);
  }
  for (const letter of ['f', 'l', 'u', 'g', 'G', 'x', 'S']) {
    usageError(t, () => flags(`-${letter}`, ''), `-${letter}: the value must not be empty`);
  }
  t.same(flags('-P', '1:/run/reg').registration, { group: 1, path: '/run/reg' });
  t.same(flags('-P', '0x10:@reg').registration, { group: 16, path: '@reg' }, 'hex group, abstract socket');
  t.same(flags('-P', '010:/a:b').registration, { group: 8, path: '/a:b' }, 'octal group; the path may hold colons');
  for (const bad of ['1', ':/run/reg', '1:', 'x:/run/reg', '1x:/run/reg', '4294967296:/r', '-1:/r'])
    usageError(t, () => flags('-P', bad), `-P: expected NR:PATH (a group number and a registration socket), got '${bad}'`);
  usageError(t, () => flags('-P', `1:/${'a'.repeat(107)}`), '-P: the path is 108 bytes; the limit is 107');
  usageError(t, () => flags('-P', '1:/r', '-l', '::1', '-p', '81'), '-P takes connections from a registration, not a listener: -l -p cannot be used with it');
  usageError(t, () => flags('-P', '1:/r', '-s', '3'), '-P takes connections from a registration, not a listener: -s cannot be used with it');
  usageError(t, () => flags('-P', '1:/r', '-e', 'prog'), '-P and -e cannot be combined: -e hands a listening socket to another program');
});

t.test('modes', async (t) => {
  t.equal(flags('-h').mode, 'help');
  t.equal(flags('--help').mode, 'help');
  t.equal(flags('--version').mode, 'version');
  t.equal(flags('--help', 'stray').mode, 'help', 'help needs nothing else to be right');
  t.equal(flags('--check').mode, 'check');
  t.match(flags('--check', '-U', '-f', 'x.conf'), { mode: 'check', pathSubstitution: true, configFile: 'x.conf' });
  usageError(t, () => flags('--check', 'x.conf'), "unexpected argument 'x.conf' (did you mean -e?)");

  const explain = flags('--explain', '-U', '-f', 'x.conf', '::1', '80', '2001:db8::7', '40000');
  t.match(explain, { mode: 'explain', pathSubstitution: true, configFile: 'x.conf' });
  t.same(explain.operands, ['::1', '80', '2001:db8::7', '40000']);
  t.same(flags('--explain', '--', '::1', '80', '::2', '9').operands, ['::1', '80', '::2', '9']);
  const need = '--explain needs LOCAL_ADDR LOCAL_PORT REMOTE_ADDR REMOTE_PORT [LISTENER]';
  usageError(t, () => flags('--explain'), need, 'no operands');
  usageError(t, () => flags('--explain', '::1', '80', '::2'), need, 'three operands');
  t.same(flags('--explain', '::1', '80', '::2', '9', '1').operands, ['::1', '80', '::2', '9', '1'], 'five: the listener of a JSON config');
  usageError(t, () => flags('--explain', '::1', '80', '::2', '9', '1', 'x'), need, 'six operands');
  usageError(t, () => flags('--explain', '::1', '80', '::2', '9', '0', '-U'), need, 'options after the operands are operands');
});

t.test('every error is a UsageError', async (t) => {
  // A small exhaustive sweep over short argument lists: parseServerFlags either
  // returns options or throws a UsageError (never another error type).
  const words = ['-p', '80', '-e', 'prog', '--', '-S', '/s', '-i', '3', '--explain', '--workers', 'auto', '-tFr', 'x', '-', '--check=1', '-q'];
  let runs = 0;
  const bad: string[] = [];
  const visit = (argv: string[]) => {
    runs++;
    try {
      const o: ServerOptions = parseServerFlags(argv);
      if (o.mode === 'serve' && o.operands.length > 0 && !o.exec) bad.push(`${JSON.stringify(argv)}: stray operands accepted`);
    } catch (err) {
      if (!(err instanceof UsageError)) bad.push(`${JSON.stringify(argv)}: ${String(err)}`);
      else if ((err).message.length < 10) bad.push(`${JSON.stringify(argv)}: terse message ${(err).message}`);
    }
    if (argv.length < 3) for (const w of words) visit([...argv, w]);
  };
  visit([]);
  t.same(bad.slice(0, 5), [], `${runs} argument lists`);
});
