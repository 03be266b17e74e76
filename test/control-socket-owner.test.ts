/**
 * The control socket's file (docs/control.md): owned by the user socketbox becomes (-u -g)
 * with mode 0600 from the moment it exists, reachable by root's `socketbox ctl`; its
 * directory must be owned by root or that user and not writable by group or others; under
 * -x the path is outside the chroot; removed at exit where the user may, otherwise left
 * and replaced as stale at the next start.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Child, stopAll } from '../testkit/child';
import { enterTestNetns } from '../testkit/netns';
import { waitForListening } from '../testkit/proc-tcp';
import { runProgram } from '../testkit/run-program';
import { SOCKETBOX, startSocketbox } from '../testkit/socketbox';
import { tempDir } from '../testkit/temp-dir';
import { ask, ctl } from './helpers/control';

enterTestNetns([5]);

const PORT = 8921;
const { dir } = tempDir('skbox-control-owner-');
fs.chmodSync(dir, 0o755);

/** A directory with this owner and mode. */
function directory(name: string, uid: number, mode: number): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  fs.chownSync(d, uid, 0);
  fs.chmodSync(d, mode);
  return d;
}

t.test('-u -g -x: owned by the new user, mode 0600, path outside the chroot, removed at exit', async (t) => {
  const run = directory('run', 65534, 0o755);
  const jail = directory('jail', 0, 0o755);
  const controlPath = path.join(run, 'control');
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const server = startSocketbox(['-u', '65534', '-g', '65534', '-x', jail, '-S', '@control-owner', '-l', '::', '-p', String(PORT), '--control', controlPath]);
  children.push(server);
  await waitForListening(PORT);
  const st = fs.statSync(controlPath);
  t.same([st.uid, st.gid, st.mode & 0o7777], [65534, 65534, 0o600], 'owned by 65534:65534, mode 0600');
  const status = await ctl(controlPath, 'status');
  t.equal(status.status, 0, 'root reaches it with socketbox ctl');
  t.match(status.stdout, /^ok serving generation 1 of -S @control-owner/, 'and is answered');
  const reload = await ask(controlPath, 'reload');
  t.equal(reload.stdout, 'ok generation 1 (nothing to reload: no config file in use (-S/-i))\n', '-S: nothing to reload, still ok');
  t.equal(await server.stop('SIGTERM'), 0, 'stops with status 0');
  t.notOk(fs.existsSync(controlPath), 'the user could remove the file from its directory (outside the chroot): it is gone');
});

t.test('a root-owned directory under -u: the file stays at exit and the next start replaces it', async (t) => {
  const run = directory('run-root', 0, 0o755);
  const controlPath = path.join(run, 'control');
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  for (const round of [1, 2]) {
    const server = startSocketbox(['-u', '65534', '-g', '65534', '-S', '@control-stale', '-l', '::', '-p', String(PORT + 1), '--control', controlPath]);
    children.push(server);
    await waitForListening(PORT + 1);
    t.equal((await ctl(controlPath, 'status')).status, 0, `start ${round}: serving on the control socket`);
    t.equal(await server.stop('SIGTERM'), 0, `start ${round}: stops with status 0`);
    t.ok(fs.existsSync(controlPath), `start ${round}: the file stays (65534 cannot write the directory)`);
    t.match(server.stderr, /remove the control socket control: Permission denied; the next start replaces it/, `start ${round}: and a warning says so`);
  }
});

t.test('a directory others could write, or owned by someone else, is refused before serving', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['group-writable', directory('shared', 0, 0o775), /the control socket's directory must not be writable by its group or others .*: Operation not permitted/],
    ['world-writable with the sticky bit', directory('sticky', 0, 0o1777), /must not be writable by its group or others/],
    ['owned by another user', directory('foreign', 12345, 0o755), /the control socket's directory must be owned by root or the user socketbox runs as .*: Operation not permitted/],
  ];
  for (const [what, d, expected] of cases) {
    const run = await runProgram(SOCKETBOX, ['-S', '@control-refused', '-l', '::', '-p', String(PORT + 2), '--control', path.join(d, 'control')], 30_000);
    t.equal(run.status, 1, `${what}: socketbox exits 1`);
    t.match(run.stderr, expected, `${what}: and says why`);
    t.notOk(fs.existsSync(path.join(d, 'control')), `${what}: no socket file was created`);
  }
  const abstract = await runProgram(SOCKETBOX, ['-S', '@x', '--control', '@control'], 30_000);
  t.equal(abstract.status, 2, 'an abstract --control name is a usage error');
  t.match(abstract.stderr, /--control: an abstract socket has no owner or mode/, 'and says why');
  const exec = await runProgram(SOCKETBOX, ['--control', path.join(dir, 'c'), '-e', '/bin/true'], 30_000);
  t.equal(exec.status, 2, '--control with -e is a usage error');
});

t.test('a live control socket is not taken over', async (t) => {
  const run = directory('live', 0, 0o755);
  const controlPath = path.join(run, 'control');
  const first = startSocketbox(['-S', '@control-live', '-l', '::', '-p', String(PORT + 3), '--control', controlPath]);
  t.teardown(() => stopAll([first]));
  await waitForListening(PORT + 3);
  const second = await runProgram(SOCKETBOX, ['-S', '@control-live', '-l', '::', '-p', String(PORT + 4), '--control', controlPath], 30_000);
  t.equal(second.status, 1, 'a second socketbox with the same --control exits 1');
  t.match(second.stderr, /control: Address already in use/, 'the socket is in use');
  t.equal((await ask(controlPath, 'status')).status, 0, 'the first one still answers on it');
});
