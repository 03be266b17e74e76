// socketbox-dirtool and the record-file format it writes for libsocketbox-preload: list
// parsing and its error messages, the 128-byte record layout, the command line, and the
// library binding the longest path a record can hold.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeRecords, encodeRecords, magicAddress, MAX_PATH_BYTES, RECORD_SIZE, recordFileName } from '../src/preload/record-file';
import { parseRecordList } from '../src/preload/record-list';
import { binPath } from '../testkit/project-root';
import { tempDir } from '../testkit/temp-dir';
import { Probe } from './helpers/preload-probe';

const dirtool = (args: string[], input = '') =>
  spawnSync(binPath('socketbox-dirtool'), args, { input, encoding: 'utf8', timeout: 20_000 });

t.test('a list parses into slot -> path records', async (t) => {
  const { records, problems } = parseRecordList('# comment\n\n  0 /run/a-_@SB_.sock\n7\t@abstract  \r\n65535 /x y.sock\n');
  t.same(problems, []);
  t.same([...records], [
    [0, '/run/a-_@SB_.sock'],
    [7, '@abstract'],
    [65535, '/x y.sock'],
  ], 'tabs, CRLF and trailing blanks are trimmed; inner spaces kept');
});

t.test('every problem is reported with its line number', async (t) => {
  const long = '/' + 'a'.repeat(MAX_PATH_BYTES);
  const { problems } = parseRecordList(
    ['1 relative/path', 'x /a', '65536 /a', '2', `3 ${long}`, '4 /a_@SB__@SB_', '5 @', '6 /ok', '6 /again', '07 /leading-zero-ok'].join('\n'),
  );
  t.same(
    problems.map((p) => p.line),
    [1, 2, 3, 4, 5, 6, 7, 9],
  );
  t.match(problems[0].message, /must be absolute/);
  t.match(problems[1].message, /slot 'x' is not a number/);
  t.match(problems[2].message, /from 0 to 65535/);
  t.match(problems[3].message, /has no path/);
  t.match(problems[4].message, /108 bytes; a UNIX socket path holds at most 107/);
  t.match(problems[5].message, /only the first _@SB_/);
  t.match(problems[6].message, /abstract socket name after @ is empty/);
  t.match(problems[7].message, /slot 6 was already given on line 8/);
  t.match(parseRecordList(`1 /${'é'.repeat(54)}`).problems[0]?.message, /109 bytes/, 'the limit counts UTF-8 bytes');
  t.match(parseRecordList('1 /run/a\tb.sock').problems[0]?.message, /path contains a control character/, 'the library would refuse it as junk');
});

t.test('records are 128 bytes at offset slot*128, NUL-padded, gaps empty', async (t) => {
  const file = encodeRecords(new Map([[0, '/a'], [2, '@b']]));
  t.equal(file.length, 3 * RECORD_SIZE);
  t.equal(file.subarray(0, 3).toString('latin1'), '/a\0');
  t.ok(file.subarray(RECORD_SIZE, 2 * RECORD_SIZE).every((b) => b === 0), 'slot 1 is empty');
  t.equal(file.subarray(2 * RECORD_SIZE, 2 * RECORD_SIZE + 2).toString(), '@b');
  t.same([...decodeRecords(file).records], [[0, '/a'], [2, '@b']]);
  t.equal(decodeRecords(Buffer.concat([file, Buffer.from('xx')])).trailingBytes, 2);
  t.equal(recordFileName(42), 'skbox_dir_00042');
  t.equal(magicAddress(1, 42, 7), 'fe8f::1:2a:7');
});

t.test('socketbox-dirtool write / show / address', async (t) => {
  const { dir, remove } = tempDir();
  t.teardown(remove);
  const written = dirtool(['write', '-d', dir, '-g', '3', '-'], '0 /tmp/a.sock\n2 @b-_@SB_\n');
  t.equal(written.status, 0, written.stderr);
  const file = path.join(dir, 'skbox_dir_00003');
  t.equal(fs.statSync(file).size, 3 * RECORD_SIZE);
  t.equal(fs.statSync(file).mode & 0o777, 0o644);
  const shown = dirtool(['show', file]);
  t.equal(shown.stdout, '0 /tmp/a.sock\n2 @b-_@SB_\n', 'show prints the list back');

  const list = path.join(dir, 'list.txt');
  fs.writeFileSync(list, '1 /tmp/c.sock\n');
  t.equal(dirtool(['write', path.join(dir, 'other'), list]).status, 0, 'FILE and LIST arguments');
  t.equal(dirtool(['show', path.join(dir, 'other')]).stdout, '1 /tmp/c.sock\n');

  const bad = dirtool(['write', file, '-'], '0 /ok\n1 rel\n');
  t.equal(bad.status, 1);
  t.equal(bad.stderr, `<stdin>:2: path must be absolute (or '@name' for an abstract socket): a relative path would depend on the daemon's working directory\nsocketbox-dirtool: ${file} not written (1 error)\n`);
  t.equal(dirtool(['show', file]).stdout, '0 /tmp/a.sock\n2 @b-_@SB_\n', 'a failed write leaves the old file');
  t.same(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');

  t.equal(dirtool(['address', '-m', '3', '1', '10']).stdout, 'fe8f::3:1:a\n');
  const usage = dirtool(['write', '-g', '1']);
  t.equal(usage.status, 2);
  t.match(usage.stderr, /-d DIR and -g GROUP go together/);
  t.equal(dirtool(['frobnicate']).status, 2);
  const missing = dirtool(['show', path.join(dir, 'nope')]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /ENOENT/);
});

t.test('the library binds the longest path a record holds (107 bytes)', async (t) => {
  const { dir, remove } = tempDir();
  t.teardown(remove);
  const prefix = `${dir}/`;
  const longest = prefix + 'p'.repeat(MAX_PATH_BYTES - prefix.length);
  t.equal(Buffer.byteLength(longest), 107);
  t.equal(dirtool(['write', '-d', dir, '-g', '9'], `4 ${longest}\n`).status, 0);
  const probe = await Probe.start({ SKBOX_DIRECTORY_ROOT: dir });
  t.teardown(() => probe.stop());
  await probe.call('socket 6 stream');
  t.match(await probe.call('bind 3 fe8f::9:4 80'), { rv: 0 });
  t.match(await probe.call('info 3'), { domain: 1, path: longest });
});
