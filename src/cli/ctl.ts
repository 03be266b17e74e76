/**
 * `socketbox ctl [-c PATH] [--json] COMMAND [ARGS]`: one request to a running socketbox's
 * control socket (--control; docs/control.md), its answer on stdout (an error on stderr).
 */
import * as net from 'node:net';
import { COMMANDS } from '../control/commands';
import { JSON_PREFIX, MAX_REQUEST_BYTES } from '../control/protocol';
import { getopt, OptionSpec } from './getopt';
import { UsageError } from './usage-error';

export const DEFAULT_CONTROL_PATH = '/run/socketbox/control';

/** Exit statuses of `socketbox ctl`. */
export const CTL_EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** How long an answer may take (a reload reads and compiles the config) before ctl gives up. */
const ANSWER_TIMEOUT_MS = 60_000;

const SPECS: OptionSpec[] = [
  { key: 'c', short: 'c', takesValue: true },
  { key: 'json', long: 'json', takesValue: false },
  { key: 'help', short: 'h', long: 'help', takesValue: false },
];

export const CTL_USAGE = `Usage: socketbox ctl [-c PATH] [--json] COMMAND [ARGS]

Asks a running socketbox (started with --control PATH) over its control socket.

  -c PATH        the control socket (default ${DEFAULT_CONTROL_PATH})
  --json         the answer as one JSON object
  -h, --help     this text

Commands:
  status         workers and their state, rules generation and config file, uptime,
                 connections per target (delivered, refused, waiting)
  reload         read the config again and wait for the outcome: prints "ok generation N",
                 or the error (FILE:LINE:COLUMN: reason) and keeps the previous rules
  explain LOCAL_ADDR LOCAL_PORT REMOTE_ADDR REMOTE_PORT [LISTENER]
                 how the running rules route that connection (the native lookup on the
                 live table); LISTENER is a JSON config's incoming socket index
  upgrade        live upgrade (as SIGUSR2): start the new executable with the sockets handed
                 over and wait until it serves ("ok pid N"; this process then stops) or the
                 upgrade failed (the running process goes on serving)

Exit status: 0 ok, 1 the command failed (reload refused, a bad address...), 2 usage error,
3 the control socket cannot be reached.
`;

export interface CtlRequest {
  path: string;
  json: boolean;
  line: string;
}

/** Checks the command line; throws UsageError. null: --help. */
export function parseCtlArgs(argv: readonly string[]): CtlRequest | null {
  const { options, operands } = getopt(argv, SPECS);
  let path = DEFAULT_CONTROL_PATH;
  let json = false;
  for (const { key, value, spelled } of options) {
    if (key === 'help') return null;
    if (key === 'json') json = true;
    if (key === 'c') {
      if (!value) throw new UsageError(`${spelled}: the value must not be empty`);
      path = value;
    }
  }
  const [name, ...args] = operands;
  if (name === undefined) throw new UsageError(`a COMMAND is needed (${Object.keys(COMMANDS).join(', ')})`);
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
  if (args.length < command.minArgs || args.length > command.maxArgs) throw new UsageError(`usage: socketbox ctl ${name}${command.args ? ` ${command.args}` : ''}`);
  const line = [...(json ? [JSON_PREFIX] : []), name, ...args].join(' ');
  if (!/^[\x20-\x7e]*$/.test(line) || args.some((a) => a === '' || a.includes(' '))) throw new UsageError('arguments must be printable ASCII words');
  if (line.length + 1 > MAX_REQUEST_BYTES) throw new UsageError(`the request is longer than ${MAX_REQUEST_BYTES} bytes`);
  return { path, json, line };
}

export interface CtlResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Sends the request and reads one answer (up to its empty line). */
export function runCtl(request: CtlRequest): Promise<CtlResult> {
  return new Promise((resolve) => {
    const socket = net.connect(request.path);
    let received = '';
    let connected = false;
    const done = (result: CtlResult): void => {
      socket.destroy();
      clearTimeout(timer);
      resolve(result);
    };
    const unreachable = (why: string): void => done({ status: CTL_EXIT.unreachable, stdout: '', stderr: `socketbox ctl: ${request.path}: ${why}\n` });
    const timer = setTimeout(() => unreachable(`no answer within ${ANSWER_TIMEOUT_MS / 1000} s`), ANSWER_TIMEOUT_MS);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${request.line}\n`);
    });
    socket.on('error', (err) => unreachable(connected ? `connection lost: ${err.message}` : `cannot connect: ${err.message}`));
    socket.on('end', () => unreachable('the connection was closed before a complete answer'));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n\n');
      if (end >= 0) done(interpret(received.slice(0, end), request.json));
    });
  });
}

function interpret(answer: string, json: boolean): CtlResult {
  if (json) {
    let ok: boolean;
    try {
      ok = (JSON.parse(answer) as { ok?: unknown }).ok === true;
    } catch {
      // not JSON: a protocol error answered in text
      return { status: CTL_EXIT.failed, stdout: '', stderr: `socketbox ctl: ${answer.replace(/^error: /, '')}\n` };
    }
    return { status: ok ? CTL_EXIT.ok : CTL_EXIT.failed, stdout: `${answer}\n`, stderr: '' };
  }
  if (answer.startsWith('error: ')) return { status: CTL_EXIT.failed, stdout: '', stderr: `${answer.slice('error: '.length)}\n` };
  return { status: CTL_EXIT.ok, stdout: `${answer}\n`, stderr: '' };
}

/** `socketbox ctl ...` as a program: prints and returns the exit status. */
export async function ctlMain(argv: readonly string[]): Promise<number> {
  let request: CtlRequest | null;
  try {
    request = parseCtlArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`socketbox ctl: ${err.message}\nTry 'socketbox ctl --help' for the commands.\n`);
    return CTL_EXIT.usage;
  }
  if (request === null) {
    process.stdout.write(CTL_USAGE);
    return CTL_EXIT.ok;
  }
  const result = await runCtl(request);
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  return result.status;
}
