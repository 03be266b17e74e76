/**
 * Logging never blocks a loop, end to end in a private network namespace.
 * socketbox's access log and log lines and the relay's per-connection line go to
 * stderr; here stderr is a pipe (a FIFO, 64 KiB) or a terminal that nobody
 * reads. Every connection is still delivered (relayed); the lines stderr could
 * not take at once are dropped and counted (socketbox_log_lines_dropped_total
 * and the stop line; the relay's "N log lines dropped" line once its log is read
 * again), and every line that did go out is whole. A line longer than a log line
 * may be is cut and still ends with a newline.
 */
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';
import { holdsUnixSocket } from '../testkit/proc-unix';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX } from '../testkit/socketbox';
import { startDrainReceiver, startFdTool, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';
import { findValue, scrape } from './helpers/metrics';
import { startEchoBackend } from './helpers/relay-backends';
import { relayExchange } from './helpers/relay-client';
import { relayBin, startRelay, startSocketbox as startFront } from './helpers/relay-process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-unread-log-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const HOSTS = Array.from({ length: 8 }, (_, i) => `2001:db8::${i + 1}`);
const CONNECTIONS = 5000;
const RELAYED = 2000;
const BACKEND_PORT = 9000;
/** A run that takes longer is stuck: without a blocked loop it takes a few seconds. */
const STUCK_AFTER_MS = 30_000;
/** How long a program may take to start on a busy machine. */
const START_MS = 30_000;

/** The access log's line (text format). */
const ACCESS_LINE = /^\S+Z \[[0-9a-f:.]+\]:\d+ -> \[[0-9a-f:.]+\]:\d+ target=\S+ outcome=[a-z_]+ latency_us=\d+$/;
/** The relay's line per connection: "TIME [remote]:port -> [local]:port". */
const RELAY_LINE = /^\d+ \[[0-9a-f:.]+\]:\d+ -> \[[0-9a-f:.]+\]:\d+$/;
const RELAY_DROPPED = /^socketbox-relay: (\d+) log lines? dropped: /;

/** A FIFO (a pipe of 64 KiB) to hand a child as stderr; nothing reads it until readAll(). */
function unreadPipe(name: string): { fd: number; readAll(): string } {
  const fifo = path.join(dir, name);
  execFileSync('mkfifo', [fifo]);
  // Both ends in one descriptor: the pipe always has a reader, and nobody ever reads through it.
  const fd = fs.openSync(fifo, fs.constants.O_RDWR);
  return {
    fd,
    readAll() {
      const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const chunks: Buffer[] = [];
      try {
        for (let n; (n = readSome(reader)).length > 0; ) chunks.push(n);
      } finally {
        fs.closeSync(reader);
      }
      return Buffer.concat(chunks).toString();
    },
  };
}

/** What a non-blocking descriptor has to read now (empty when nothing). */
function readSome(fd: number): Buffer {
  const buf = Buffer.alloc(65536);
  try {
    return buf.subarray(0, fs.readSync(fd, buf));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return Buffer.alloc(0);
    throw err;
  }
}

/** Lines of text; an unfinished last line is kept (and is not whole). */
function lines(text: string): string[] {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

/** work's result, or undefined when it takes longer than ms (it goes on meanwhile). */
async function within<T>(ms: number, work: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A terminal nobody reads, with CMD's stderr on it (fd_tool.py unread-terminal): CMD's pid. */
async function onUnreadTerminal(copyTo: string, cmd: string[], children: Child[]): Promise<{ terminal: Child; pid: number }> {
  const terminal = startFdTool(['unread-terminal', copyTo, '--', ...cmd]);
  children.push(terminal);
  await terminal.waitForEvent((e) => e.ready === true, START_MS, 'the terminal');
  return { terminal, pid: terminal.events.find((e) => e.ready === true)?.pid as number };
}

/** Someone reads the terminal at last: resolves once what it held is read. */
async function readTerminal(terminal: Child): Promise<void> {
  terminal.proc.kill('SIGUSR1');
  await terminal.waitForEvent((e) => e.drained === true, START_MS, 'the terminal to be read');
}

/** Stops CMD (SIGTERM): its status and all the terminal showed. */
async function stopOnTerminal(terminal: Child, pid: number, copyTo: string): Promise<{ status: unknown; shown: string }> {
  process.kill(pid, 'SIGTERM');
  await terminal.waitForEvent((e) => 'exit' in e, 20_000, 'the program to stop');
  return { status: terminal.events.find((e) => 'exit' in e)?.exit, shown: fs.readFileSync(copyTo, 'utf8') };
}

/** socketbox with the access log and metrics, to one drain receiver, on port. */
const accessLogServer = (port: number, metricsPort: number, receiverPath: string): string[] => [
  '--access-log',
  '--metrics',
  String(metricsPort),
  '-S',
  receiverPath,
  '-l',
  '::',
  '-p',
  String(port),
];

/** What the access log told: its lines in what stderr showed, and whether all lines are whole. */
function checkAccessLog(t: Test, shown: string, dropped: number | undefined): void {
  const all = lines(shown);
  const access = all.filter((l) => ACCESS_LINE.test(l)).length;
  t.comment(`stderr took ${access} access log lines (${shown.length} bytes); ${dropped} lines dropped`);
  t.ok(dropped !== undefined && dropped > 0, `the lines stderr could not take are counted: socketbox_log_lines_dropped_total ${dropped}`);
  t.equal(access + (dropped ?? 0), CONNECTIONS, 'access log lines written + dropped = connections');
  t.ok(shown.endsWith('\n'), 'what was written ends with a newline');
  t.same(
    all.filter((l) => !ACCESS_LINE.test(l) && !l.startsWith('socketbox: ')),
    [],
    'every line is whole: an access log line or a log line',
  );
}

/**
 * Once socketbox listens on port: CONNECTIONS connections, which must all be delivered within
 * STUCK_AFTER_MS whatever stderr does; then the log lines its metrics count as dropped.
 */
async function deliverAllAndCountDropped(t: Test, port: number, metricsPort: number): Promise<number | undefined> {
  await waitForListening(port, START_MS);
  let finished = 0;
  const load = await within(STUCK_AFTER_MS, runLoad({ hosts: HOSTS, port, connections: CONNECTIONS, inFlight: 64, timeoutMs: 5000, onProgress: (n) => (finished = n) }));
  t.equal(load?.delivered, CONNECTIONS, `all ${CONNECTIONS} delivered within ${STUCK_AFTER_MS / 1000} s (connections finished by then: ${finished})`);
  return findValue(await scrape(metricsPort), 'socketbox_log_lines_dropped_total');
}

/** The drain receiver NAME at DIR/NAME.sock, first of the test's children (stopped when it ends). */
async function accessLogReceiver(t: Test, name: string): Promise<{ children: Child[]; receiverPath: string; receiver: Child }> {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const receiverPath = path.join(dir, `${name}.sock`);
  const receiver = await startDrainReceiver(receiverPath, name);
  children.push(receiver);
  return { children, receiverPath, receiver };
}

t.test(`--access-log, stderr a pipe nobody reads: ${CONNECTIONS} connections all delivered, the lines that did not fit counted`, async (t) => {
  const { children, receiverPath, receiver } = await accessLogReceiver(t, 'pipe');
  const stderr = unreadPipe('socketbox-stderr');
  t.teardown(() => fs.closeSync(stderr.fd));
  const [port, metricsPort] = [8901, 9901];
  const server = new Child(spawn(SOCKETBOX, accessLogServer(port, metricsPort, receiverPath), { stdio: ['ignore', 'ignore', stderr.fd] }));
  children.push(server);
  const dropped = await deliverAllAndCountDropped(t, port, metricsPort);
  checkAccessLog(t, stderr.readAll(), dropped);

  t.equal(await server.stop(), 0, 'socketbox stops cleanly');
  const stopLine = lines(stderr.readAll()).find((l) => l.includes(' stopped; ')) ?? '';
  t.match(stopLine, `accepted ${CONNECTIONS}, delivered ${CONNECTIONS}, refused 0`, 'the stop line has the accounting');
  t.match(stopLine, `; ${dropped} log lines dropped (stderr could not take them)`, 'and how many lines were dropped');
  t.equal((await stopDrainReceiver(receiver)).count, CONNECTIONS, 'the receiver counted them all');
});

t.test(`--access-log, stderr a terminal nobody reads: ${CONNECTIONS} connections all delivered, the lines that did not fit counted`, async (t) => {
  const { children, receiverPath, receiver } = await accessLogReceiver(t, 'terminal');
  const [port, metricsPort] = [8902, 9902];
  const copy = path.join(dir, 'socketbox-terminal.txt');
  const { terminal, pid } = await onUnreadTerminal(copy, [SOCKETBOX, ...accessLogServer(port, metricsPort, receiverPath)], children);
  const dropped = await deliverAllAndCountDropped(t, port, metricsPort);

  await readTerminal(terminal);
  const { status, shown } = await stopOnTerminal(terminal, pid, copy);
  t.equal(status, 0, 'socketbox stops cleanly');
  checkAccessLog(t, shown, dropped);
  t.match(shown, `; ${dropped} log lines dropped (stderr could not take them)`, 'the stop line tells how many lines were dropped');
  t.equal((await stopDrainReceiver(receiver)).count, CONNECTIONS, 'the receiver counted them all');
});

/** count connections through the front socketbox and the relay to the echo backend, 16 at a time; tally.echoed counts those echoed. */
async function relayEchoes(port: number, count: number, tally = { echoed: 0 }): Promise<number> {
  let started = 0;
  const client = async (): Promise<void> => {
    while (started < count) {
      const input = `n${started++}`;
      const r = await relayExchange({ host: '2001:db8::5', port, input, timeoutMs: 5000 }).catch(() => undefined);
      if (r?.output.toString() === input) tally.echoed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, count) }, client));
  return tally.echoed;
}

/** The relay's lines: its connection lines, then (once read again) how many it dropped, then one more connection line. */
function checkRelayLog(t: Test, shown: string): void {
  const all = lines(shown);
  const connectionLines = all.filter((l) => RELAY_LINE.test(l)).length;
  const note = all.map((l) => RELAY_DROPPED.exec(l)).find((m) => m);
  t.comment(`the log took ${connectionLines} connection lines (${shown.length} bytes); ${note?.[0] ?? 'no line about dropped lines'}`);
  t.ok(note, `once its log was read again, the relay said how many lines it had dropped: ${note?.input}`);
  t.equal(connectionLines + Number(note?.[1] ?? 0), RELAYED + 1, 'connection lines written + dropped = connections');
  t.match(all[all.length - 1], RELAY_LINE, "the last connection's line follows it");
  t.ok(shown.endsWith('\n'), 'what was written ends with a newline');
  t.same(all.filter((l) => !RELAY_LINE.test(l) && !RELAY_DROPPED.test(l)), [], 'every line is whole');
}

t.test(`the relay, stderr a pipe nobody reads: ${RELAYED} connections all relayed, the lines that did not fit counted`, async (t) => {
  const backend = await startEchoBackend('::1', BACKEND_PORT);
  t.teardown(backend.close);
  const stderr = unreadPipe('relay-stderr');
  t.teardown(() => fs.closeSync(stderr.fd));
  const relayPath = path.join(dir, 'relay-pipe.sock');
  const relay = await startRelay(relayPath, ['-p', String(BACKEND_PORT)], process.env, stderr.fd);
  t.teardown(relay.stop);
  const port = 8903;
  const front = await startFront(relayPath, port);
  t.teardown(front.stop);

  const tally = { echoed: 0 };
  t.equal(await within(STUCK_AFTER_MS, relayEchoes(port, RELAYED, tally)), RELAYED, `all ${RELAYED} relayed within ${STUCK_AFTER_MS / 1000} s (echoed by then: ${tally.echoed})`);
  let shown = stderr.readAll();
  t.ok(lines(shown).length < RELAYED, `the pipe could not take every line (${lines(shown).length})`);
  t.equal(await relayEchoes(port, 1), 1, 'one more connection, now that the log is read');
  await waitFor("that connection's line", () => RELAY_LINE.test(lines((shown += stderr.readAll())).pop() ?? '')).catch(() => undefined);
  checkRelayLog(t, shown);
  t.equal(await relay.stop(), 0, 'the relay stops cleanly');
});

t.test(`the relay, stderr a terminal nobody reads: ${RELAYED} connections all relayed, the lines that did not fit counted`, async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const backend = await startEchoBackend('::1', BACKEND_PORT);
  t.teardown(backend.close);
  const relayPath = path.join(dir, 'relay-terminal.sock');
  const copy = path.join(dir, 'relay-terminal.txt');
  const { terminal, pid } = await onUnreadTerminal(copy, [relayBin, '-s', relayPath, '-p', String(BACKEND_PORT)], children);
  await waitFor('the relay to bind', () => holdsUnixSocket(pid, relayPath), START_MS);
  const port = 8904;
  const front = await startFront(relayPath, port);
  t.teardown(front.stop);

  const tally = { echoed: 0 };
  t.equal(await within(STUCK_AFTER_MS, relayEchoes(port, RELAYED, tally)), RELAYED, `all ${RELAYED} relayed within ${STUCK_AFTER_MS / 1000} s (echoed by then: ${tally.echoed})`);
  await readTerminal(terminal);
  t.equal(await relayEchoes(port, 1), 1, 'one more connection, now that the log is read');
  const { status, shown } = await stopOnTerminal(terminal, pid, copy);
  t.equal(status, 0, 'the relay stops cleanly');
  checkRelayLog(t, shown);
});

t.test('a log line longer than 4096 bytes is cut and still ends with a newline', async (t) => {
  // The start-up line names the config file: a path of about 4,090 bytes makes it too long.
  let deep = dir;
  while (deep.length < 4080) deep = path.join(deep, 'd'.repeat(Math.min(200, 4080 - deep.length)));
  fs.mkdirSync(deep, { recursive: true });
  const conf = path.join(deep, 's.conf');
  fs.writeFileSync(conf, 'max-rules:1\nrule-set:0\ndefault fail\n');
  const port = 8905;
  const server = new Child(spawn(SOCKETBOX, ['-f', conf, '-l', '::', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] }));
  t.teardown(() => stopAll([server]));
  await waitFor('the start-up line', () => server.stderr.includes('listening on'), START_MS);
  t.equal(await server.stop(), 0, 'socketbox stops cleanly');
  const all = lines(server.stderr);
  const long = all.find((l) => l.startsWith('socketbox: listening on')) ?? '';
  t.equal(Buffer.byteLength(`${long}\n`), 4095, 'the start-up line is cut to 4095 bytes, its newline included');
  t.ok(long.includes(dir) && conf.startsWith(long.slice(long.indexOf(dir))), 'what is left of it is its start, cut in the path');
  t.same(all.filter((l) => !l.startsWith('socketbox: ')), [], 'the lines after it start on a line of their own');
  t.match(all[all.length - 1], /^socketbox: stopped; /, 'down to the stop line');
});
