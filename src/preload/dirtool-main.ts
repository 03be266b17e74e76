// socketbox-dirtool: writes and reads the record files of libsocketbox-preload.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../cli/usage-error';
import { programStatus } from '../clients/program-exit';
import { decodeRecords, encodeRecords, magicAddress, recordFileName, RECORD_SIZE } from './record-file';
import { parseRecordList } from './record-list';

const USAGE = `usage:
  socketbox-dirtool write FILE [LIST]        write FILE from LIST ('-' or absent: stdin)
  socketbox-dirtool write -d DIR -g GROUP [LIST]
                                              write DIR/skbox_dir_GGGGG
  socketbox-dirtool show FILE                print FILE's records as a list
  socketbox-dirtool address [-m MODE] GROUP SLOT
                                              print the bind address fe8f::MODE:GROUP:SLOT
A list has one 'SLOT PATH' per line (SLOT 0..65535, PATH absolute or @abstract, at most
107 bytes, _@SB_ = the bind port); '#' starts a comment line.`;

function parseNumber(text: string | undefined, what: string, max: number): number {
  if (text === undefined || !/^[0-9]+$/.test(text) || Number(text) > max)
    throw new UsageError(`${what} must be a number from 0 to ${max}, got '${text ?? ''}'`);
  return Number(text);
}

function readInput(source: string | undefined): { text: string; name: string } {
  if (source === undefined || source === '-') return { text: fs.readFileSync(0, 'utf8'), name: '<stdin>' };
  return { text: fs.readFileSync(source, 'utf8'), name: source };
}

/** Replaces FILE at once, so a daemon starting meanwhile never reads half a file. */
function writeAtomically(file: string, data: Buffer): void {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(temporary, data, { mode: 0o644 });
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

function write(args: string[]): number {
  let file: string | undefined;
  let directory: string | undefined;
  let group: number | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-d') directory = args[++i];
    else if (args[i] === '-g') group = parseNumber(args[++i], 'GROUP', 0xffff);
    else rest.push(args[i]);
  }
  if (directory !== undefined || group !== undefined) {
    if (directory === undefined || group === undefined) throw new UsageError('-d DIR and -g GROUP go together');
    file = path.join(directory, recordFileName(group));
  } else {
    file = rest.shift();
    if (file === undefined) throw new UsageError('write: FILE is missing');
  }
  if (rest.length > 1) throw new UsageError(`write: unexpected argument '${rest[1]}'`);

  const input = readInput(rest[0]);
  const { records, problems } = parseRecordList(input.text);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`${input.name}:${p.line}: ${p.message}\n`);
    process.stderr.write(`socketbox-dirtool: ${file} not written (${problems.length} error${problems.length > 1 ? 's' : ''})\n`);
    return 1;
  }
  writeAtomically(file, encodeRecords(records));
  return 0;
}

function show(args: string[]): number {
  if (args.length !== 1) throw new UsageError('show: exactly one FILE');
  const { records, trailingBytes } = decodeRecords(fs.readFileSync(args[0]));
  for (const [slot, recordPath] of records) process.stdout.write(`${slot} ${recordPath}\n`);
  if (trailingBytes > 0)
    process.stderr.write(`socketbox-dirtool: ${args[0]}: ${trailingBytes} bytes after the last whole ${RECORD_SIZE}-byte record\n`);
  return 0;
}

function address(args: string[]): number {
  let mode = 0;
  if (args[0] === '-m') {
    mode = parseNumber(args[1], 'MODE', 3);
    args = args.slice(2);
  }
  if (args.length !== 2) throw new UsageError('address: GROUP and SLOT');
  process.stdout.write(`${magicAddress(mode, parseNumber(args[0], 'GROUP', 0xffff), parseNumber(args[1], 'SLOT', 0xffff))}\n`);
  return 0;
}

function run([command, ...args]: string[]): number {
  switch (command) {
    case 'write':
      return write(args);
    case 'show':
      return show(args);
    case 'address':
      return address(args);
    case '-h':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      throw new UsageError(command === undefined ? 'a command is missing' : `unknown command '${command}'`);
  }
}

/** The exit status: a usage error prints the message and the usage (2), another failure the message (1). */
export function main(argv: string[]): number {
  return programStatus('socketbox-dirtool', USAGE, run, argv);
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
