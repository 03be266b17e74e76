// The client addon checks every number it is given before converting it to a C integer: a
// NaN, an infinity, a fraction or a value out of range is a RangeError and a non-number a
// TypeError, thrown before anything is done. (Casting such a double to int is undefined
// behaviour; an int32 conversion would wrap 2^32 + 1 to descriptor 1.)
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { projectRoot } from '../testkit/project-root';
import { tempDir } from '../testkit/temp-dir';

const addon = loadClientAddon();
const OUT_OF_RANGE = [NaN, Infinity, -Infinity, 1e20, -1, 2 ** 31, 2 ** 32 + 1, 1.5, -0.5];
const describe = (v: unknown) => String(v);
const FD_RANGE = /must be an integer from 0 to 2147483647, not /;

t.test('descriptor arguments: RangeError for every number that is not a descriptor, TypeError for non-numbers', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const receiver = addon.bindDatagramSocket(path.join(tmp.dir, 'r.sock'));
  const sender = addon.openDatagramSocket();
  t.teardown(() => {
    fs.closeSync(receiver);
    fs.closeSync(sender);
  });
  const calls: Array<[string, (v: number) => unknown]> = [
    ['receiveFd socket', (v) => addon.receiveFd(v, 2, false)],
    ['sendFds socket', (v) => addon.sendFds(v, [], path.join(tmp.dir, 'r.sock'), false)],
    ['sendFds fds element', (v) => addon.sendFds(sender, [v], path.join(tmp.dir, 'r.sock'), false)],
    ['watchReadable fd', (v) => addon.watchReadable(v, () => {})],
    ['spawnInSession connection', (v) => addon.spawnInSession('true', ['true'], v)],
    ['socketEndpoint fd', (v) => addon.socketEndpoint(v, false)],
  ];
  for (const [what, call] of calls) {
    for (const value of OUT_OF_RANGE) t.throws(() => call(value), { name: 'RangeError', message: FD_RANGE }, `${what} ${describe(value)}`);
    for (const value of ['3', null, undefined, 3n]) t.throws(() => call(value as never), { name: 'TypeError' }, `${what} ${typeof value}`);
  }
  // With an int32 conversion, 2^32 + 1 became descriptor 1 and NaN descriptor 0: the receiver
  // would have been handed this process's stdout or stdin.
  t.same(addon.receiveFd(receiver, 0, false).status, 'again', 'nothing reached the receiver');
});

t.test('other integer arguments have their own ranges', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const receiver = addon.bindDatagramSocket(path.join(tmp.dir, 'r.sock'));
  t.teardown(() => fs.closeSync(receiver));
  for (const value of [...OUT_OF_RANGE, 3]) {
    t.throws(() => addon.receiveFd(receiver, value, false), { name: 'RangeError', message: /level must be an integer from 0 to 2, not / }, `level ${describe(value)}`);
  }
  for (const value of [...OUT_OF_RANGE, 0o10000]) {
    const socketPath = path.join(tmp.dir, `mode-${describe(value)}.sock`);
    t.throws(() => addon.bindDatagramSocket(socketPath, value), { name: 'RangeError', message: /mode must be an integer from 0 to 4095, not / }, `mode ${describe(value)}`);
    t.notOk(fs.existsSync(socketPath), `mode ${describe(value)}: no socket was bound`);
  }
  const api = path.join(tmp.dir, 'no-server.sock');
  for (const value of [NaN, Infinity, -1, 2 ** 32, 1e20, 0.5]) {
    t.throws(() => addon.registerAt(api, value, 100), { name: 'RangeError', message: /group must be an integer from 0 to 4294967295, not / }, `group ${describe(value)}`);
  }
  for (const value of [NaN, -Infinity, -1, 2 ** 31, 1e20, 0.5]) {
    t.throws(() => addon.registerAt(api, 0, value), { name: 'RangeError', message: /timeoutMs must be an integer from 0 to 2147483647, not / }, `timeoutMs ${describe(value)}`);
  }
  t.throws(() => addon.registerAt(api, 4294967295, 100), { code: 'ENOENT' }, 'the largest group is taken (and the missing server reported)');
});

t.test('execWithReceivedFd checks its descriptors before touching any (run in a child process)', async (t) => {
  // Run elsewhere: once past its checks it marks every descriptor close-on-exec and execs.
  const script = `
    const addon = require(${JSON.stringify(path.join(projectRoot, 'build', 'Release', 'socketbox_client.node'))});
    const results = [];
    for (const [fd, keep] of [[NaN, []], [-1, []], [2 ** 31, []], [0, [2 ** 32 + 1]], [0, [Infinity]]]) {
      try { addon.execWithReceivedFd(fd, keep, '/nonexistent/program', ['x']); results.push('returned'); }
      catch (e) { results.push(e.name + ': ' + e.message); }
    }
    console.log(JSON.stringify(results));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 0, r.stderr);
  const results = JSON.parse(r.stdout) as string[];
  t.equal(results.length, 5);
  for (const result of results) t.match(result, /^RangeError: (fd|keepOpen) must be an integer from 0 to 2147483647, not /);
});
