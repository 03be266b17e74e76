// Pure parts of the client programs: getopt rules, socket-query's options and output
// formats, descriptor numbers, SKBOX_STRICT_STREAM_MODE, the report rate limit.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getopt, optionSpecs } from '../src/cli/getopt';
import { parseFd } from '../src/clients/parse-fd';
import { CLIENT_GETOPT_STYLE } from '../src/clients/program-exit';
import { rateLimitedReport } from '../src/clients/rate-limited-report';
import { resolveProgram } from '../src/clients/resolve-program';
import { formatAddress, formatBothEnds, formatEndpoint, formatPort } from '../src/clients/socket-query-format';
import { parseSocketQueryArgs } from '../src/clients/socket-query-options';
import { validationLevelFromEnv } from '../src/clients/strict-stream-mode';

/** The getopt of the client programs: getopt(3)'s notation, "argument" in messages. */
const clientGetopt = (args: string[], letters: string, longNames: string[] = []) => getopt(args, optionSpecs(letters, longNames), CLIENT_GETOPT_STYLE);
const letter = (key: string, value?: string) => ({ key, value, spelled: `-${key}` });
const long = (key: string, value?: string) => ({ key, value, spelled: `--${key}` });

t.test('getopt: grouping, attached and separate arguments, stop at the first operand', async (t) => {
  t.same(clientGetopt(['-la', '-f3', '-R'], 'aplrRf:'), {
    options: [letter('l'), letter('a'), letter('f', '3'), letter('R')],
    operands: [],
  });
  t.same(clientGetopt(['-s', '4', '3'], 'rs:'), { options: [letter('s', '4')], operands: ['3'] });
  t.same(clientGetopt(['-r', '3', 'cat', '-n'], 'rs:').operands, ['3', 'cat', '-n'], "the program's own -n is not ours");
  t.same(clientGetopt(['--', '-r'], 'rs:'), { options: [], operands: ['-r'] });
  t.same(clientGetopt(['-', 'x'], 'r').operands, ['-', 'x']);
  t.throws(() => clientGetopt(['-x'], 'rs:'), { name: 'UsageError', message: 'unknown option -x' });
  t.throws(() => clientGetopt(['-s'], 'rs:'), /needs an argument/);
});

t.test('getopt: long options with = or a separate value, before the operands', async (t) => {
  const longs = ['max-children=', 'quiet'];
  t.same(clientGetopt(['--max-children', '5', '--quiet', 'sock', 'cat', '--max-children', '9'], '', longs), {
    options: [long('max-children', '5'), long('quiet')],
    operands: ['sock', 'cat', '--max-children', '9'],
  }, "a program's own long options after the operands are not ours");
  t.same(clientGetopt(['--max-children=7', 'x'], '', longs).options, [long('max-children', '7')]);
  t.same(clientGetopt(['--max-children=', 'x'], '', longs).options, [long('max-children', '')], 'an empty value is left to the caller to refuse');
  t.throws(() => clientGetopt(['--max-children'], '', longs), { name: 'UsageError', message: 'option --max-children needs an argument' });
  t.throws(() => clientGetopt(['--quiet=1'], '', longs), { name: 'UsageError', message: 'option --quiet takes no value' });
  t.throws(() => clientGetopt(['--max'], '', longs), { name: 'UsageError', message: 'unknown option --max' }, 'no abbreviations');
  t.throws(() => clientGetopt(['--help'], 'h'), { name: 'UsageError', message: 'unknown option --help' });
});

t.test('socket-query options follow the original', async (t) => {
  const q = (...args: string[]) => parseSocketQueryArgs(args);
  t.same(q(), { part: 'endpoint', raw: false, fd: 0 }, 'both ends of fd 0 by default');
  t.same(q('-l'), { end: 'local', part: 'endpoint', raw: false, fd: 0 });
  t.same(q('-la'), { end: 'local', part: 'address', raw: false, fd: 0 });
  t.same(q('-r', '-p', '-R', '-f', '7'), { end: 'remote', part: 'port', raw: true, fd: 7 });
  t.same(q('-la', '-r'), { end: 'remote', part: 'endpoint', raw: false, fd: 0 }, 'a later -r starts over');
  t.throws(() => q('-a'), /-a must follow -l or -r/);
  t.throws(() => q('-lap'), /-p must follow -l or -r/);
  t.throws(() => q('-f', 'x'), /descriptor number/);
  t.throws(() => q('extra'), /unexpected argument/);
});

t.test('socket-query output formats', async (t) => {
  const address = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x23]);
  const local = { address, port: 8080 };
  const remote = { address: Uint8Array.from([...Array<number>(10).fill(0), 0xff, 0xff, 127, 0, 0, 5]), port: 40000 };
  t.equal(formatAddress(address, false), '2001:0db8:0000:0000:0000:0000:0000:0123');
  t.equal(formatAddress(address, true), '20010DB8000000000000000000000123');
  t.equal(formatPort(8080, false), '8080');
  t.equal(formatPort(8080, true), '1F90');
  t.equal(formatPort(5, true), '0005');
  t.equal(formatEndpoint(local, 'endpoint', false), '[2001:0db8:0000:0000:0000:0000:0000:0123]:8080');
  t.equal(formatEndpoint(local, 'endpoint', true), '20010DB8000000000000000000000123:1F90');
  t.equal(formatEndpoint(remote, 'address', false), '0000:0000:0000:0000:0000:ffff:7f00:0005', 'IPv4-mapped');
  t.equal(
    formatBothEnds(local, remote, false),
    '[2001:0db8:0000:0000:0000:0000:0000:0123]:8080 [0000:0000:0000:0000:0000:ffff:7f00:0005]:40000',
  );
  t.equal(
    formatBothEnds(local, remote, true),
    '20010DB8000000000000000000000123:1F90 00000000000000000000FFFF7F000005:9C40',
  );
});

t.test('descriptor numbers: decimal only', async (t) => {
  t.equal(parseFd('0', 'FD'), 0);
  t.equal(parseFd('12', 'FD'), 12);
  for (const bad of ['', 'x', '3x', '-1', ' 3', '1e3', '99999999999']) t.throws(() => parseFd(bad, 'FD'), { name: 'UsageError' }, bad);
});

t.test('SKBOX_STRICT_STREAM_MODE', async (t) => {
  const level = (v?: string) => validationLevelFromEnv(v === undefined ? {} : { SKBOX_STRICT_STREAM_MODE: v });
  t.equal(level(), 2, 'default 2');
  t.equal(level(''), 2);
  t.equal(level('0'), 0);
  t.equal(level('1'), 1);
  t.equal(level('2'), 2);
  t.equal(level('7'), 2, 'above 2 is as strict as 2');
  t.equal(level('1x'), 1, 'leading digits, like the original');
  const complaints: string[] = [];
  t.equal(validationLevelFromEnv({ SKBOX_STRICT_STREAM_MODE: 'off' }, (m) => complaints.push(m)), 2, 'junk: strictest');
  t.match(complaints, [/not a number/]);
});

t.test('reports are rate limited, with a count of what was held back', async (t) => {
  let clock = 0;
  const lines: string[] = [];
  const report = rateLimitedReport((l) => lines.push(l), { lines: 2, windowMs: 1000 }, () => clock);
  for (let i = 0; i < 5; i++) report(`m${i}`);
  t.same(lines, ['m0', 'm1']);
  clock = 1000;
  report('later');
  t.same(lines, ['m0', 'm1', '(3 similar message(s) suppressed)', 'later']);
});

t.test('PROGRAM is found like execvp finds it, once', async (t) => {
  t.equal(resolveProgram('sh', '/nonexistent-dir:/bin'), '/bin/sh');
  t.equal(resolveProgram('no-such-program-skbox', '/bin:/usr/bin'), undefined);
  t.equal(resolveProgram('/bin/sh'), '/bin/sh', 'a path is taken as is');
  const plainFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-resolve-')), 'data');
  fs.writeFileSync(plainFile, 'not a program', { mode: 0o644 });
  t.teardown(() => fs.rmSync(path.dirname(plainFile), { recursive: true }));
  t.equal(resolveProgram(plainFile), undefined, 'not executable');
  t.equal(resolveProgram('bin', '/'), undefined, 'a directory is not a program');
});
