/**
 * --target-root: a target path must resolve to a socket beneath
 * the directory; a planted symlink pointing outside, or an absolute path
 * elsewhere, is refused and counted, while symlinks inside keep working.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { enterTestNetns } from './helpers/netns';
import { Child, startReceiver, startSocketbox, stopAll } from './helpers/processes';
import { talk } from './helpers/client';
import { waitForListening } from './helpers/wait-for';

enterTestNetns();

t.test('symlinks out of --target-root are refused and counted', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-root-'));
  const root = path.join(dir, 'root');
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(path.join(root, 'run'), { recursive: true });
  fs.mkdirSync(outside);
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(path.join(root, 'run', 'ok.sock'), 'ok'));
  children.push(await startReceiver(path.join(outside, 'evil.sock'), 'evil'));
  fs.symlinkSync(path.join(outside, 'evil.sock'), path.join(root, 'run', 'evil.sock'));
  fs.symlinkSync('ok.sock', path.join(root, 'run', 'alias.sock'));
  const conf = path.join(dir, 'root.conf');
  fs.writeFileSync(
    conf,
    [
      'max-rules:1',
      'rule-set:0',
      'size:5',
      `ip:2001:db8::1 jump-unix:${root}/run/ok.sock`,
      `ip:2001:db8::2 jump-unix:${root}/run/evil.sock`,
      `ip:2001:db8::3 jump-unix:${outside}/evil.sock`,
      `ip:2001:db8::4 jump-unix:${root}/run/alias.sock`,
      `ip:2001:db8::5 jump-unix:${root}/run/../../outside/evil.sock`,
      '',
    ].join('\n'),
  );
  const port = 8901;
  const server = startSocketbox(['--target-root', root, '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  t.equal((await talk('2001:db8::1', port, { line: 'a' })).echo, 'ok echo:a', 'a socket beneath the root is used');
  t.equal((await talk('2001:db8::2', port)).greeting, null, 'a symlink pointing outside is refused');
  t.equal((await talk('2001:db8::3', port)).greeting, null, 'an absolute path elsewhere is refused');
  t.equal((await talk('2001:db8::4', port, { line: 'b' })).echo, 'ok echo:b', 'a symlink that stays inside is followed');
  t.equal((await talk('2001:db8::5', port)).greeting, null, 'dot-dot out of the root is refused');
  t.equal(await server.stop(), 0);
  t.match(server.stderr, 'accepted 5, delivered 2, refused 3 (outside_root 3)', 'the refusals are counted');
  const evil = children[1];
  t.equal(evil.events.filter((e) => e.name === 'evil').length, 0, 'nothing reached the socket outside');
});
