/**
 * Capabilities, per thread, read back from /proc/PID/task/TID/status: started
 * unprivileged with inheritable and ambient capabilities (as systemd's
 * AmbientCapabilities= gives them), socketbox still binds a port below 1024,
 * but once it serves no thread holds an inheritable, ambient, permitted or
 * effective capability, nor a bounding set when it was allowed to drop it;
 * started as root and dropping to a user (also daemonized), every set of every
 * thread is empty; a program run by -e inherits none of them, nor the start-up
 * library.
 */
import t, { Test } from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { threadIds } from '../testkit/proc-stat';
import { statusField } from '../testkit/proc-status';
import { isListening, waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { startSocketbox } from '../testkit/socketbox';
import { startReceiver } from '../testkit/fd-tool';
import { talk } from './helpers/client';
import { programFor } from './helpers/runnable-by';

enterTestNetns();

const NOBODY = '65534';
const EMPTY = '0000000000000000';
const SETS = ['CapInh', 'CapAmb', 'CapPrm', 'CapEff'];

/** setpriv: run as nobody with caps (e.g. 'net_bind_service') inheritable and ambient, hence also permitted. */
function asNobodyWith(caps: string[], command: string[]): Child {
  const list = caps.map((c) => `+${c}`).join(',');
  const args = ['--reuid', NOBODY, '--regid', NOBODY, '--clear-groups', '--inh-caps', list, '--ambient-caps', list, ...command];
  return new Child(spawn('setpriv', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** The capability sets of one thread, as "SET VALUE" lines. */
function capabilities(pid: number, tid: number): string[] {
  return [...SETS, 'CapBnd'].map((set) => `${set} ${statusField(pid, set, tid)}`);
}

/** What every thread must hold: nothing, and the bounding set given. */
function expected(bounding: string): string[] {
  return [...SETS.map((set) => `${set} ${EMPTY}`), `CapBnd ${bounding}`];
}

/** One assertion per thread of pid: its sets are exactly `want`. */
function checkEveryThread(t: Test, pid: number, want: string[]): void {
  const tids = threadIds(pid);
  t.ok(tids.length > 4, `all of Node's threads are checked (${tids.length})`);
  for (const tid of tids) t.same(capabilities(pid, tid), want, `thread ${tid}`);
}

const socketbox = programFor(Number(NOBODY), 'socketbox');

t.test('unprivileged with ambient CAP_NET_BIND_SERVICE: binds port 80, serves, and no thread keeps a capability', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver('@caps-80', 'low-port'));
  const server = asNobodyWith(['net_bind_service'], [socketbox, '-S', '@caps-80', '-l', '::', '-p', '80']);
  children.push(server);
  await waitForListening(80);
  const r = await talk('2001:db8::1', 80, { line: 'hello' });
  t.equal(r.echo, 'low-port echo:hello', 'a connection to port 80 is routed to the receiver');
  // Without CAP_SETPCAP the bounding set cannot be dropped: it stays what it was.
  checkEveryThread(t, server.pid, expected(statusField(process.pid, 'CapBnd')));
  t.equal(statusField(server.pid, 'Uid'), `${NOBODY}\t${NOBODY}\t${NOBODY}\t${NOBODY}`, 'still nobody');
});

t.test('unprivileged with CAP_SETPCAP too: the bounding set is emptied in every thread', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver('@caps-81', 'bounded'));
  const server = asNobodyWith(['net_bind_service', 'setpcap'], [socketbox, '-S', '@caps-81', '-l', '::', '-p', '81']);
  children.push(server);
  await waitForListening(81);
  t.equal((await talk('2001:db8::1', 81)).echo, 'bounded echo:ping', 'serves');
  checkEveryThread(t, server.pid, expected(EMPTY));
});

t.test('-e started unprivileged with ambient capabilities: the program gets none, and not the start-up library', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-caps-'));
  fs.chmodSync(dir, 0o777);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'report');
  const report = `{ grep -E "^Cap(Inh|Amb|Prm|Eff)" /proc/self/status; echo "LD_PRELOAD=\${LD_PRELOAD-unset}"; echo "FD=$SKBOX_LISTEN_FD"; } > ${out}`;
  const server = asNobodyWith(['net_bind_service'], [socketbox, '-e', '-l', '::', '-p', '82', 'sh', '-c', report]);
  t.teardown(() => stopAll([server]));
  t.equal(await server.wait(), 0, 'the program ran');
  const text = fs.readFileSync(out, 'utf8');
  const lines = text.trim().split('\n');
  for (const set of SETS) t.ok(lines.includes(`${set}:\t${EMPTY}`), `the program's ${set} is empty`);
  t.ok(lines.includes('LD_PRELOAD=unset'), 'LD_PRELOAD is gone from its environment');
  t.match(text, /FD=[0-9]+/, 'it got the bound socket');
});

t.test('root with -u: every set of every thread is empty, bounding set included', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver('@caps-83', 'root'));
  const server = startSocketbox(['-u', NOBODY, '-S', '@caps-83', '-l', '::', '-p', '83']);
  children.push(server);
  await waitForListening(83);
  t.equal((await talk('2001:db8::1', 83)).echo, 'root echo:ping', 'serves');
  checkEveryThread(t, server.pid, expected(EMPTY));
});

t.test('root with -d -u: the daemonized copy (started as root again) drops everything too', async (t) => {
  const children: Child[] = [];
  let daemonPid = 0;
  t.teardown(async () => {
    if (daemonPid) process.kill(daemonPid, 'SIGKILL');
    await stopAll(children);
  });
  children.push(await startReceiver('@caps-84', 'daemon'));
  const parent = startSocketbox(['-d', '-u', NOBODY, '-S', '@caps-84', '-l', '::', '-p', '84']);
  children.push(parent);
  t.equal(await parent.wait(), 0, 'the parent exits 0 once the copy serves');
  daemonPid = Number(/daemon running as pid ([0-9]+)/.exec(parent.stdout)?.[1]);
  t.ok(daemonPid > 0, `the daemon's pid is reported (${daemonPid})`);
  t.equal((await talk('2001:db8::1', 84)).echo, 'daemon echo:ping', 'the copy serves');
  t.equal(statusField(daemonPid, 'Uid'), `${NOBODY}\t${NOBODY}\t${NOBODY}\t${NOBODY}`, 'as nobody');
  checkEveryThread(t, daemonPid, expected(EMPTY));
});

t.test('not started through bin/socketbox, with ambient capabilities: refused before binding', async (t) => {
  const main = path.join(path.dirname(socketbox), '..', 'dist', 'src', 'main.js');
  const server = asNobodyWith(['net_bind_service'], [process.execPath, main, '-S', '@caps-85', '-l', '::', '-p', '85']);
  t.teardown(() => stopAll([server]));
  t.equal(await server.wait(), 1, 'exit 1');
  t.match(server.stderr, /not through bin\/socketbox/);
  t.notOk(isListening(85), 'never listened');
});
