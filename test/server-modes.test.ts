/**
 * socketbox's single-target modes and listener flags, end to end in a private
 * network namespace: -S (abstract too), -i (exit 11 when the peer is gone),
 * jump-fd, -U, -s, -e, -d, -t/-F/-z, -r, -b, and the offline tools.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { isListening, waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX, startSocketbox } from '../testkit/socketbox';
import { startFdTool, startReceiver } from '../testkit/fd-tool';
import { talk } from './helpers/client';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-modes-'));
let nextPort = 8400;
const newPort = (): number => nextPort++;

function writeConfig(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

t.test('-S sends every connection to one datagram socket, abstract ones too', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver('@skbox-test-abstract', 'abs'));
  const port = newPort();
  const server = startSocketbox(['-S', '@skbox-test-abstract', '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  for (const host of ['2001:db8::1', '2001:db8::77', '127.0.0.9']) {
    const r = await talk(host, port, { line: 'hi' });
    t.match(r.greeting, /^abs local=/, `[${host}] delivered`);
    t.equal(r.echo, 'abs echo:hi');
  }
});

t.test('-i sends over an inherited socket and exits 11 once its peer is gone', async (t) => {
  const port = newPort();
  const wrapper = startFdTool(['socketpair', 'pair', '--close-after', '2', '--', SOCKETBOX, '-i', '3', '-l', '::', '-p', String(port)]);
  t.teardown(() => stopAll([wrapper]));
  await waitForListening(port);
  for (let i = 0; i < 2; i++) {
    const r = await talk('2001:db8::5', port, { line: `n${i}` });
    t.equal(r.echo, `pair echo:n${i}`, `connection ${i} delivered over fd 3`);
  }
  await waitFor('both served', () => wrapper.events.filter((e) => e.name === 'pair').length === 2, 5000);
  // The receiving end is closed now: the next connection finds the peer gone.
  await talk('2001:db8::5', port).catch(() => undefined);
  await wrapper.waitForEvent((e) => 'exit' in e, 10_000, 'socketbox to exit');
  t.same(wrapper.events.find((e) => 'exit' in e), { exit: 11 }, 'socketbox exits with status 11');
  t.match(wrapper.stderr, /peer of -i 3 is gone/);
});

t.test('jump-fd delivers over an inherited descriptor named in the config', async (t) => {
  const port = newPort();
  const conf = writeConfig('fd.conf', 'max-rules:1\nrule-set:0\nsize:2\nip:2001:db8::7 jump-fd:3\n');
  const wrapper = startFdTool(['socketpair', 'viafd', '--', SOCKETBOX, '-f', conf, '-l', '::', '-p', String(port)]);
  t.teardown(() => stopAll([wrapper]));
  await waitForListening(port);
  const r = await talk('2001:db8::7', port, { line: 'x' });
  t.equal(r.echo, 'viafd echo:x');
  t.equal((await talk('2001:db8::8', port)).greeting, null, 'other addresses: no match, closed');
});

t.test('jump-fd naming a descriptor that is not open is a config error', async (t) => {
  const conf = writeConfig('badfd.conf', 'max-rules:1\nrule-set:0\nsize:2\nip:2001:db8::7 jump-fd:57\n');
  const server = startSocketbox(['-f', conf, '-l', '::', '-p', String(newPort())]);
  t.equal(await server.wait(), 1);
  t.match(server.stderr, `${conf}:4:16: descriptor 57 is not open`);
});

t.test('-U substitutes the local address groups and port into target paths', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const port = newPort();
  const sub = path.join(dir, 'sub');
  fs.mkdirSync(sub);
  const conf = writeConfig('subst.conf', `max-rules:1\nrule-set:0\nsize:2\nip:2001:db8::/64 jump-unix:${sub}/#//7_-#//P_.sock\n`);
  const pad = (n: number): string => String(n).padStart(5, '0');
  children.push(await startReceiver(`${sub}/${pad(0x11)}-${pad(port)}.sock`, 's11'));
  children.push(await startReceiver(`${sub}/${pad(0x123)}-${pad(port)}.sock`, 's123'));
  const server = startSocketbox(['-U', '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  t.equal((await talk('2001:db8::11', port, { line: 'a' })).echo, 's11 echo:a');
  t.equal((await talk('2001:db8::123', port, { line: 'b' })).echo, 's123 echo:b');
  t.equal((await talk('2001:db8::124', port)).greeting, null, 'no receiver at the substituted path: refused');
  await server.stop();
  t.match(server.stderr, 'accepted 3, delivered 2, refused 1 (target_missing 1)');
});

t.test('-s serves an inherited listening socket', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(path.join(dir, 'inh.sock'), 'inh'));
  const port = newPort();
  const wrapper = startFdTool(['listener', String(port), '--', SOCKETBOX, '-s', '3', '-S', path.join(dir, 'inh.sock')]);
  children.push(wrapper);
  await waitForListening(port);
  t.equal((await talk('2001:db8::3', port, { line: 'z' })).echo, 'inh echo:z');
});

t.test('-e binds, then execs the program with SKBOX_LISTEN_FD', async (t) => {
  const port = newPort();
  const program = [
    'import os, socket',
    'fd = int(os.environ["SKBOX_LISTEN_FD"])',
    's = socket.socket(fileno=fd)',
    's.listen()',
    'c, _ = s.accept()',
    'c.sendall(b"exec ok %d blocking=%d\\n" % (fd, c.getblocking()))',
    'c.close()',
  ].join('\n');
  const server = startSocketbox(['-l', '::', '-p', String(port), '-e', 'python3', '-c', program]);
  t.teardown(() => stopAll([server]));
  await waitForListening(port);
  const r = await talk('2001:db8::1', port);
  t.match(r.greeting, /^exec ok \d+ blocking=1$/, 'the program accepted on the socket socketbox bound');
  t.equal(await server.wait(), 0, 'the exec replaced socketbox (same process)');
});

t.test('-d daemonizes once serving; the parent exits 0', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(path.join(dir, 'daemon.sock'), 'dmn'));
  const port = newPort();
  const parent = startSocketbox(['-d', '-S', path.join(dir, 'daemon.sock'), '-l', '::', '-p', String(port)]);
  t.equal(await parent.wait(), 0, 'the parent exits 0');
  const pid = Number(/daemon running as pid (\d+)/.exec(parent.stdout)?.[1]);
  t.ok(pid > 0, 'and names the daemon');
  t.teardown(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  t.ok(isListening(port), 'the daemon is listening');
  t.equal((await talk('2001:db8::1', port, { line: 'd' })).echo, 'dmn echo:d');
  const status = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ');
  t.equal(status[5], String(pid), 'the daemon leads its own session');
  t.equal(fs.readlinkSync(`/proc/${pid}/cwd`), '/', 'and does not keep a directory busy');
  process.kill(pid, 'SIGTERM');
  await waitFor('the daemon to stop', () => !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z');
});

t.test('-d hands the daemon copy its jump-fd targets at their numbers', async (t) => {
  const port = newPort();
  const conf = writeConfig('dfd.conf', 'max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::7 jump-fd:3\n');
  // --outlive: the wrapper serves on after the -d parent exits, for the daemon that holds descriptor 3.
  const wrapper = startFdTool(['socketpair', 'viadaemon', '--outlive', '--', SOCKETBOX, '-d', '-f', conf, '-l', '::', '-p', String(port)]);
  let daemon = 0;
  t.teardown(async () => {
    if (daemon) process.kill(daemon, 'SIGKILL');
    await stopAll([wrapper]);
  });
  await wrapper.waitForEvent((e) => e.exit === 0, 20_000, 'the -d parent to exit 0');
  daemon = Number(/daemon running as pid (\d+)/.exec(wrapper.stdout)?.[1]);
  t.equal((await talk('2001:db8::7', port, { line: 'd' })).echo, 'viadaemon echo:d', 'the daemon delivers over descriptor 3');
});

t.test('-F and -t allow binding an address that is not local; -z clears the transparent flag', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const foreign = '2001:db8:1::1';
  const plain = startSocketbox(['-S', '@nowhere', '-l', foreign, '-p', String(newPort())]);
  t.equal(await plain.wait(), 1, 'without -F the bind fails');
  t.match(plain.stderr, /bind: Cannot assign requested address/);

  const freebindPort = newPort();
  const withF = startSocketbox(['-F', '-S', '@nowhere', '-l', foreign, '-p', String(freebindPort)]);
  children.push(withF);
  await waitForListening(freebindPort);
  t.pass('with -F the server binds and listens');

  children.push(await startReceiver('@skbox-tproxy', 'tp'));
  const tPort = newPort();
  const withT = startSocketbox(['-t', '-S', '@skbox-tproxy', '-l', '::', '-p', String(tPort)]);
  children.push(withT);
  const zPort = newPort();
  const withZ = startSocketbox(['-tz', '-S', '@skbox-tproxy', '-l', '::', '-p', String(zPort)]);
  children.push(withZ);
  await waitForListening(tPort);
  await waitForListening(zPort);
  t.match((await talk('2001:db8::1', tPort)).greeting, /transparent=1$/, '-t: accepted sockets inherit IPV6_TRANSPARENT');
  t.match((await talk('2001:db8::1', zPort)).greeting, /transparent=0$/, '-z clears it on each accepted socket');
});

t.test('-r lets several servers share a port; without it the second one fails', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const port = newPort();
  const first = startSocketbox(['-r', '-S', '@x', '-l', '::', '-p', String(port)]);
  children.push(first);
  await waitForListening(port);
  const second = startSocketbox(['-r', '-S', '@x', '-l', '::', '-p', String(port)]);
  children.push(second);
  await waitFor('the second -r server', () => /listening on/.test(second.stderr));
  t.equal(second.exitCode, null, 'a second -r server runs beside the first');
  const third = startSocketbox(['-S', '@x', '-l', '::', '-p', String(port)]);
  t.equal(await third.wait(), 1, 'a server without -r cannot join');
  t.match(third.stderr, /bind: Address already in use/);
});

t.test('-b sets the listen backlog', async (t) => {
  const port = newPort();
  const server = startSocketbox(['-b', '17', '-S', '@x', '-l', '::', '-p', String(port)]);
  t.teardown(() => stopAll([server]));
  await waitForListening(port);
  const ss = execFileSync('ss', ['-Hltn', `sport = :${port}`]).toString().trim().split(/\s+/);
  t.equal(ss[2], '17', 'the kernel reports a backlog of 17');
});

t.test('--check and --explain work without a server', async (t) => {
  const conf = writeConfig('explain.conf', 'max-rules:2\nrule-set:0\nsize:2\nip:2001:db8::/64 jump-rule:1\nrule-set:1\nsize:1\nip:2001:db8::9 jump-unix:/run/nine.sock\ndefault fail\n');
  const check = execFileSync(SOCKETBOX, ['--check', '-f', conf]).toString();
  t.match(check, `${conf}: OK`);
  t.match(check, 'unix:/run/nine.sock');
  const hit = execFileSync(SOCKETBOX, ['--explain', '-f', conf, '2001:db8::9', '80', 'fd00::1', '5555']).toString();
  t.match(hit, 'rule-set:0 line 4 -> jump-rule:1');
  t.match(hit, 'rule-set:1 line 7 -> jump-unix:/run/nine.sock');
  t.match(hit, 'decision: deliver to unix:/run/nine.sock');
  const miss = execFileSync(SOCKETBOX, ['--explain', '-f', conf, '2001:db8::8', '80', 'fd00::1', '5555']).toString();
  t.match(miss, 'rule-set:1 default -> fail');
  t.match(miss, 'decision: close (fail)');
});

t.test('usage errors exit 2 with a hint; --help lists every flag', async (t) => {
  const help = execFileSync(SOCKETBOX, ['--help']).toString();
  for (const flag of ['-f', '-l', '-p', '-t', '-F', '-R', '-r', '-b', '-s', '-e', '-u', '-g', '-G', '-k', '-x', '-d', '-S', '-i', '-z', '-P', '-U', '--workers', '--target-root', '--allow-abstract-targets', '--check', '--explain']) {
    t.match(help, new RegExp(`^\\s+${flag}[ ,]`, 'm'), `--help lists ${flag}`);
  }
  for (const args of [['-q'], ['-p'], ['-p', '80x'], ['stray']]) {
    const bad = startSocketbox(args);
    t.equal(await bad.wait(), 2, `socketbox ${args.join(' ')} exits 2`);
    t.match(bad.stderr, /Try 'socketbox --help'/);
  }
});

t.test('-R leaves SO_REUSEADDR off: a port with connections in TIME_WAIT cannot be bound again', async (t) => {
  const port = 8497;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-reuseaddr-'));
  const target = path.join(dir, 'r.sock');
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(target, 'r'));
  const first = startSocketbox(['-S', target, '-l', '::', '-p', String(port)]);
  children.push(first);
  await waitForListening(port);
  // The receiver closes first, so the server end of this connection stays in TIME_WAIT.
  t.match((await talk('2001:db8::1', port)).greeting, /^r local=/);
  t.equal(await first.stop(), 0);
  const withoutReuse = startSocketbox(['-R', '-S', target, '-l', '::', '-p', String(port)]);
  children.push(withoutReuse);
  t.equal(await withoutReuse.wait(), 1, 'with -R the bind fails');
  t.match(withoutReuse.stderr, /Address already in use/);
  const withReuse = startSocketbox(['-S', target, '-l', '::', '-p', String(port)]);
  children.push(withReuse);
  await waitForListening(port);
  t.match((await talk('2001:db8::1', port)).greeting, /^r local=/, 'without -R (SO_REUSEADDR, the default) it binds and serves');
});
