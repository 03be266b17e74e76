/**
 * --target-root: a target path must resolve to a socket beneath the
 * directory; a planted symlink pointing outside, or an absolute path
 * elsewhere, is refused and counted, while symlinks inside keep working.
 * socketbox connects to the very socket it checked (a receiver swapping its
 * path for a symlink mid-connect gains nothing), relative paths start at the
 * root, `--target-root /` admits every absolute path, abstract names need
 * --allow-abstract-targets, and /proc must be reachable (inside a chroot too).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX, startSocketbox } from '../testkit/socketbox';
import { startDrainReceiver, startFdTool, startReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';
import { talk } from './helpers/client';

enterTestNetns();

let nextPort = 8901;

/** A fresh directory with root/run (the confinement) and outside/ beside it. */
function layout(prefix: string): { dir: string; root: string; run: string; outside: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const root = path.join(dir, 'root');
  const run = path.join(root, 'run');
  const outside = path.join(dir, 'outside');
  fs.mkdirSync(run, { recursive: true });
  fs.mkdirSync(outside);
  return { dir, root, run, outside };
}

function writeRules(file: string, entries: string[]): string {
  fs.writeFileSync(file, ['max-rules:1', 'rule-set:0', `size:${entries.length}`, ...entries, ''].join('\n'));
  return file;
}

/** "accepted N, delivered N, refused N (…)" from the stop line. */
const summary = (server: Child): string | undefined => /stopped; (accepted [^;]*)/.exec(server.stderr)?.[1];

t.test('symlinks out of --target-root are refused and counted', async (t) => {
  const { dir, root, outside } = layout('skbox-root-');
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(path.join(root, 'run', 'ok.sock'), 'ok'));
  children.push(await startReceiver(path.join(outside, 'evil.sock'), 'evil'));
  fs.symlinkSync(path.join(outside, 'evil.sock'), path.join(root, 'run', 'evil.sock'));
  fs.symlinkSync('ok.sock', path.join(root, 'run', 'alias.sock'));
  const conf = writeRules(path.join(dir, 'root.conf'), [
    `ip:2001:db8::1 jump-unix:${root}/run/ok.sock`,
    `ip:2001:db8::2 jump-unix:${root}/run/evil.sock`,
    `ip:2001:db8::3 jump-unix:${outside}/evil.sock`,
    `ip:2001:db8::4 jump-unix:${root}/run/alias.sock`,
    `ip:2001:db8::5 jump-unix:${root}/run/../../outside/evil.sock`,
  ]);
  const port = nextPort++;
  const server = startSocketbox(['--target-root', root, '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  t.equal((await talk('2001:db8::1', port, { line: 'a' })).echo, 'ok echo:a', 'a socket beneath the root is used');
  t.equal((await talk('2001:db8::2', port)).greeting, null, 'a symlink pointing outside is refused');
  t.equal((await talk('2001:db8::3', port)).greeting, null, 'an absolute path elsewhere is refused');
  t.equal((await talk('2001:db8::4', port, { line: 'b' })).echo, 'ok echo:b', 'a symlink that stays inside is followed');
  t.equal((await talk('2001:db8::5', port)).greeting, null, 'dot-dot out of the root is refused');
  t.equal(await server.stop(), 0);
  t.equal(summary(server), 'accepted 5, delivered 2, refused 3 (outside_root 3)', 'the refusals are counted');
  const evil = children[1];
  t.equal(evil.events.filter((e) => e.name === 'evil').length, 0, 'nothing reached the socket outside');
});

t.test('a receiver flipping its path to a symlink outside, during 20,000 connections: none delivered outside', async (t) => {
  const { dir, root, run, outside } = layout('skbox-flip-');
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const evil = await startDrainReceiver(path.join(outside, 'evil.sock'), 'outside');
  const insideA = await startDrainReceiver(path.join(run, 'real-a.sock'), 'inside-a');
  const insideB = await startDrainReceiver(path.join(run, 'real-b.sock'), 'inside-b');
  children.push(evil, insideA, insideB);
  // Owns run/: renames a hard link of its real socket, then a symlink to the one outside, over a.sock and b.sock.
  const flipper = startFdTool(['flip', path.join(outside, 'evil.sock'), `${run}/a.sock=${run}/real-a.sock`, `${run}/b.sock=${run}/real-b.sock`]);
  children.push(flipper);
  await flipper.waitForEvent((e) => e.ready === true, 10_000, 'the flipper');
  const conf = writeRules(path.join(dir, 'flip.conf'), [`ip:2001:db8::1 jump-unix:${run}/a.sock`, `ip:2001:db8::2 jump-unix:${run}/b.sock`]);
  const port = nextPort++;
  // One cached target for two paths, used in turn: every connection connects anew, each one a chance to race.
  const server = startSocketbox(['--target-root', root, '--max-targets', '1', '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  const load = await runLoad({ hosts: ['2001:db8::1', '2001:db8::2'], port, connections: 20_000, inFlight: 32, timeoutMs: 20_000 });
  await flipper.stop();
  const flips = (flipper.events.find((e) => 'flips' in e) as { flips: number } | undefined)?.flips ?? 0;
  t.equal(await server.stop(), 0);
  const outsideCount = (await stopDrainReceiver(evil)).count;
  const inside = (await stopDrainReceiver(insideA)).count + (await stopDrainReceiver(insideB)).count;
  t.comment(`${flips} flips; clients: ${load.delivered} answered (inside ${inside}, outside ${outsideCount}), ${load.refused} refused; socketbox: ${summary(server)}`);
  t.equal(outsideCount, 0, 'the socket outside got nothing');
  t.equal(load.byReceiver.get('outside') ?? 0, 0, 'no client was answered from outside');
  t.equal(inside + load.refused, 20_000, 'inside deliveries + refusals = 20,000');
  t.match(summary(server), new RegExp(`^accepted 20000, delivered ${inside}, refused ${load.refused} \\(.*outside_root [1-9]`), 'socketbox counted the same, and refused swapped paths as outside_root');
  t.ok(inside > 0, 'the real sockets inside were served meanwhile');
  t.ok(flips > 1000, `the path was flipped ${flips} times meanwhile`);
});

t.test('a relative target starts at the root, for the check and the connect alike', async (t) => {
  const { dir, root, outside } = layout('skbox-relative-');
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(path.join(root, 'run', 'svc.sock'), 'inside'));
  // The working directory holds a decoy at the same relative path.
  fs.mkdirSync(path.join(outside, 'run'));
  const decoy = await startReceiver(path.join(outside, 'run', 'svc.sock'), 'decoy');
  children.push(decoy);
  const conf = writeRules(path.join(dir, 'relative.conf'), ['ip:2001:db8::1 jump-unix:run/svc.sock']);
  const port = nextPort++;
  const server = new Child(spawn(SOCKETBOX, ['--target-root', root, '-f', conf, '-l', '::', '-p', String(port)], { cwd: outside, stdio: ['ignore', 'pipe', 'pipe'] }));
  children.push(server);
  await waitForListening(port);
  t.equal((await talk('2001:db8::1', port, { line: 'r' })).echo, 'inside echo:r', 'run/svc.sock is the one beneath the root');
  t.equal(decoy.events.filter((e) => e.name === 'decoy').length, 0, 'the decoy in the working directory got nothing');
});

t.test('--target-root / admits every absolute path that resolves to a socket', async (t) => {
  const { dir, root, outside } = layout('skbox-slash-');
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(path.join(root, 'run', 'a.sock'), 'a'));
  fs.symlinkSync(path.join(root, 'run', 'a.sock'), path.join(outside, 'absolute-link.sock'));
  fs.writeFileSync(path.join(outside, 'plain-file'), 'not a socket\n');
  const conf = writeRules(path.join(dir, 'slash.conf'), [
    `ip:2001:db8::1 jump-unix:${root}/run/a.sock`,
    `ip:2001:db8::2 jump-unix:${outside}/absolute-link.sock`,
    `ip:2001:db8::3 jump-unix:${outside}/plain-file`,
  ]);
  const port = nextPort++;
  const server = startSocketbox(['--target-root', '/', '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  t.equal((await talk('2001:db8::1', port, { line: 's' })).echo, 'a echo:s', 'an absolute path is beneath /');
  t.equal((await talk('2001:db8::2', port)).greeting, null, 'a symlink with an absolute target is refused, as beneath any root');
  t.equal((await talk('2001:db8::3', port)).greeting, null, 'a file that is not a socket is refused');
  t.equal(await server.stop(), 0);
  t.equal(summary(server), 'accepted 3, delivered 1, refused 2 (outside_root 2)');
});

t.test('abstract targets under --target-root: refused at start-up and on reload unless allowed', async (t) => {
  const { dir, root } = layout('skbox-abstract-');
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver('@skbox-root-abstract', 'abs'));
  children.push(await startReceiver(path.join(root, 'run', 'file.sock'), 'file'));
  const abstract = writeRules(path.join(dir, 'abstract.conf'), ['ip:2001:db8::9 jump-unix:@skbox-root-abstract']);
  const refused = startSocketbox(['--target-root', root, '-f', abstract, '-l', '::', '-p', String(nextPort++)]);
  t.equal(await refused.wait(), 1, 'a config with an abstract target does not start');
  t.match(refused.stderr, `${abstract}:4:16: @skbox-root-abstract is an abstract socket, not a file beneath --target-root ${root}; pass --allow-abstract-targets to allow abstract targets`);
  const forced = startSocketbox(['--target-root', root, '-S', '@skbox-root-abstract', '-l', '::', '-p', String(nextPort++)]);
  t.equal(await forced.wait(), 1, '-S @name does not start either');
  t.match(forced.stderr, '-S: @skbox-root-abstract is an abstract socket');

  const port = nextPort++;
  const allowed = startSocketbox(['--target-root', root, '--allow-abstract-targets', '-f', abstract, '-l', '::', '-p', String(port)]);
  children.push(allowed);
  await waitForListening(port);
  t.equal((await talk('2001:db8::9', port, { line: 'x' })).echo, 'abs echo:x', 'with --allow-abstract-targets it is delivered');

  const conf = writeRules(path.join(dir, 'reload.conf'), [`ip:2001:db8::9 jump-unix:${root}/run/file.sock`]);
  const reloading = startSocketbox(['--target-root', root, '-f', conf, '-l', '::', '-p', String(nextPort)]);
  children.push(reloading);
  await waitForListening(nextPort);
  fs.copyFileSync(abstract, conf);
  reloading.proc.kill('SIGHUP');
  await waitFor('the reload to be refused', () => /reload failed/.test(reloading.stderr));
  t.match(reloading.stderr, `reload failed, keeping the previous rules: ${conf}:4:16: @skbox-root-abstract is an abstract socket`);
  t.equal((await talk('2001:db8::9', nextPort, { line: 'y' })).echo, 'file echo:y', 'the previous rules still serve');
  nextPort++;
});

t.test('--target-root needs /proc: a chroot without it does not start, one with it serves', async (t) => {
  const { dir } = layout('skbox-chroot-');
  const jail = path.join(dir, 'jail');
  fs.mkdirSync(path.join(jail, 'run'), { recursive: true });
  fs.mkdirSync(path.join(jail, 'proc'));
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(path.join(jail, 'run', 'in.sock'), 'jailed'));
  const args = ['-x', jail, '--target-root', '/run', '-S', '/run/in.sock', '-l', '::'];
  const without = startSocketbox([...args, '-p', String(nextPort++)]);
  t.equal(await without.wait(), 1, 'refused at start-up');
  t.match(without.stderr, '--target-root /run: cannot reach it again through /proc/thread-self/fd, which confined connects go through (mount /proc, inside the chroot under -x)');

  const port = nextPort++;
  // A private mount namespace, so that the proc mount inside the chroot is the test's alone.
  const script = `mount -t proc proc "$1/proc" && shift && exec "$@"`;
  const server = new Child(spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', jail, SOCKETBOX, ...args, '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  children.push(server);
  await waitForListening(port);
  t.equal((await talk('2001:db8::1', port, { line: 'j' })).echo, 'jailed echo:j', 'with /proc mounted inside, the jailed socket is served');
});
