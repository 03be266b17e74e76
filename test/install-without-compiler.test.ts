/**
 * Installing without a compiler (docs/packaging.md): the tarball `npm pack` makes, with the
 * prebuilds of `npm run prebuild`, installed by `npm install -g` into a temporary prefix
 * with no compiler on PATH, CC/CXX=false, and libbpf/libelf hidden. The install uses the
 * prebuild; then, in a private network namespace and still without libbpf, the installed
 * programs run: `socketbox --version`, a connection routed by socketbox to socketbox-inetd,
 * a Python HTTP server under run-with-socketbox (the preload library) serving through
 * socketbox, and socketbox with a JSON config starting without its fast path, saying why.
 * The pack and install happen before entering the namespace (npm may need the registry).
 */
import t, { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { enterTestNetns } from '../testkit/netns';
import { tempDir } from '../testkit/temp-dir';
import { isListening } from '../testkit/proc-tcp';
import { waitFor } from '../testkit/wait';
import { COMPILERS, Installed, noCompilerEnv, packAndInstall, withoutLibbpf } from './helpers/package-install';
import { extraLibraries } from '../src/native/prebuild';
import { Daemon } from './helpers/preload-fixtures';

const INSTALLED = 'SOCKETBOX_TEST_INSTALLED';
if (process.env[INSTALLED] === undefined) {
  const { dir } = tempDir('skbox-install-');
  fs.writeFileSync(path.join(dir, 'installed.json'), JSON.stringify(packAndInstall(dir)));
  process.env[INSTALLED] = path.join(dir, 'installed.json');
}
enterTestNetns([5]);

const installed = JSON.parse(fs.readFileSync(process.env[INSTALLED] ?? '', 'utf8')) as Installed;
const bin = (prefix: string, program: string): string => path.join(prefix, 'bin', program);
const packageDir = path.join(installed.prefix, 'lib', 'node_modules', 'socketbox');
const { dir } = tempDir();
const PORT = 8080;

/** An installed program, run as a user without compiler or libbpf would run it. */
function start(argv: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const cmd = withoutLibbpf(installed.hidden, argv);
  return new Daemon(spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: noCompilerEnv(installed, env) }));
}

/** What a client connecting to ADDRESS:PORT and sending REQUEST reads until the end. */
function talk(address: string, port: number, request = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = '';
    const c = net.connect({ host: address, port, localAddress: 'fd00:1::5', timeout: 10_000 });
    c.on('connect', () => c.end(request));
    c.on('data', (d: Buffer) => (reply += d.toString()));
    c.on('end', () => resolve(reply));
    c.on('timeout', () => reject(new Error(`${address}: no answer in 10 s`)));
    c.on('error', reject);
  });
}

async function waitForListening(daemon: Daemon, port: number): Promise<void> {
  await waitFor(
    `listening on ${port}`,
    () => {
      if (daemon.child.exitCode !== null) throw new Error(`exited ${daemon.child.exitCode}: ${daemon.output()}`);
      return isListening(port);
    },
    15_000,
  );
}

t.test('npm install -g of the packed tarball uses the prebuild: no compiler, no libbpf', async (t) => {
  t.equal(installed.status, 0, 'npm install exits 0', { log: installed.log });
  t.match(installed.log, /socketbox: using the prebuilt native parts for linux-x64 \(no compiler needed\)/, 'the install script took the prebuild');
  const found = spawnSync('sh', ['-c', COMPILERS.map((c) => `command -v ${c}`).join('; ')], { encoding: 'utf8', env: noCompilerEnv(installed) });
  t.equal(found.stdout, '', `none of ${COMPILERS.join(' ')} is on the install's PATH`);
  t.ok(installed.hidden.some((f) => /libbpf\.so/.test(f)), `libbpf was hidden during the install and the runs: ${installed.hidden.join(', ')}`);
  t.ok(fs.existsSync(path.join(packageDir, 'prebuilds', 'linux-x64', 'socketbox_server.node')), 'the package carries prebuilds/linux-x64/');
  t.notOk(fs.existsSync(path.join(packageDir, 'build', 'Makefile')), 'nothing was configured for a build');
  for (const page of ['man8/socketbox.8', 'man5/socketbox.conf.5', 'man1/socket-query.1']) {
    t.ok(fs.existsSync(path.join(installed.prefix, 'share', 'man', page)), `the manual page ${page} is installed`);
  }
  for (const product of ['socketbox_server.node', 'socketbox_relay.node', 'socketbox_client.node', 'libsocketbox-preload.so', 'libsocketbox-startup.so']) {
    const file = path.join(packageDir, 'build', 'Release', product);
    t.same(extraLibraries(file), [], `${product} needs only the C and C++ runtimes (ldd)`);
  }
});

/** socketbox --version. */
async function version(t: Test, prefix: string): Promise<void> {
  const version = (JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  const cmd = withoutLibbpf(installed.hidden, [bin(prefix, 'socketbox'), '--version']);
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', env: noCompilerEnv(installed), timeout: 30_000 });
  t.equal(r.status, 0, `exit 0 ${r.stderr}`);
  t.equal(r.stdout.trim(), `socketbox ${version}`, 'prints its version');
}

/** A connection routed by socketbox to socketbox-inetd, and one to a daemon under run-with-socketbox. */
async function routed(t: Test, prefix: string, dir: string, port: number): Promise<void> {
  fs.mkdirSync(dir);
  const inetdSocket = path.join(dir, 'inetd.sock');
  const inetd = start([bin(prefix, 'socketbox-inetd'), inetdSocket, '/bin/sh', '-c', 'echo routed by socketbox-inetd']);
  t.teardown(() => inetd.stop());

  // The record file the preload library reads: slot 0 is a socket named by the bound port.
  const www = path.join(dir, 'www');
  fs.mkdirSync(www);
  fs.writeFileSync(path.join(www, 'hello.txt'), 'served under run-with-socketbox\n');
  const dirtool = withoutLibbpf(installed.hidden, [bin(prefix, 'socketbox-dirtool'), 'write', '-d', dir, '-g', '1']);
  const written = spawnSync(dirtool[0], dirtool.slice(1), { input: `0 ${dir}/py-_@SB_.sock\n`, encoding: 'utf8', env: noCompilerEnv(installed), timeout: 30_000 });
  t.equal(written.status, 0, `socketbox-dirtool writes the record file ${written.stderr}`);
  const python = start([bin(prefix, 'run-with-socketbox'), 'python3', '-m', 'http.server', '--bind', 'fe8f::1:0', '--directory', www, '80'], {
    SKBOX_DIRECTORY_ROOT: dir,
  });
  t.teardown(() => python.stop());

  const config = path.join(dir, 'socketbox.conf');
  fs.writeFileSync(
    config,
    ['max-rules:1', 'rule-set:0', 'size:10', `ip:2001:db8::1 jump-unix:${inetdSocket}`, `ip:2001:db8::2 jump-unix:${dir}/py-00080.sock`, 'default fail', ''].join('\n'),
  );
  const socketbox = start([bin(prefix, 'socketbox'), '-f', config, '-l', '::', '-p', String(port)]);
  t.teardown(() => socketbox.stop());
  await waitForListening(socketbox, port);
  const outputs = (): string => `the sockets of inetd and the preloaded server; inetd: ${inetd.output()} python: ${python.output()}`;
  await waitFor(outputs, () => fs.existsSync(inetdSocket) && fs.existsSync(`${dir}/py-00080.sock`), 15_000);

  t.equal(await talk('2001:db8::1', port), 'routed by socketbox-inetd\n', 'socketbox -> socketbox-inetd -> the program');
  const reply = await talk('2001:db8::2', port, 'GET /hello.txt HTTP/1.0\r\n\r\n');
  t.match(reply, /^HTTP\/1\.0 200 /, 'the preloaded Python server answers through socketbox');
  t.match(reply, /\r\n\r\nserved under run-with-socketbox\n$/, 'with the page');
}

t.test('installed with its install script: the prebuild copied to build/Release', async (t) => {
  await version(t, installed.prefix);
  await routed(t, installed.prefix, path.join(dir, 'with-scripts'), PORT);
});

t.test('installed with --ignore-scripts: the programs load the prebuild where the package carries it', async (t) => {
  t.equal(installed.withoutScripts.status, 0, 'npm install --ignore-scripts exits 0', { log: installed.withoutScripts.log });
  t.notOk(fs.existsSync(path.join(installed.withoutScripts.prefix, 'lib', 'node_modules', 'socketbox', 'build')), 'no build/ at all');
  await version(t, installed.withoutScripts.prefix);
  await routed(t, installed.withoutScripts.prefix, path.join(dir, 'without-scripts'), PORT + 2);
});

t.test('with a JSON config and no libbpf, socketbox starts without its fast path and says why', async (t) => {
  const file = path.join(dir, 'socketbox.json');
  const port = PORT + 1;
  fs.writeFileSync(
    file,
    JSON.stringify({
      'socketbox-version': 1,
      incoming: [{ address: '::', port }],
      paths: [{ socket: path.join(dir, 'api.sock'), mode: '0666' }],
      outgoing: [{ uid: 0, path_nr: 0 }],
      rules: { _start: { type: 'rule', rules: [{ l_ip: '2001:db8::/64', jump: 'o:0' }] } },
    }),
  );
  const socketbox = start([bin(installed.prefix, 'socketbox'), '-f', file]);
  t.teardown(() => socketbox.stop());
  await waitForListening(socketbox, port);
  await waitFor('the fast path log line', () => /fast path/.test(socketbox.stderr), 10_000).catch(() => undefined);
  t.match(socketbox.stderr, /fast path unavailable \(cannot open libbpf\.so\.1 \(install libbpf1\): [^)]*\): every connection goes through the accept loops/, 'one warning naming libbpf');
});
