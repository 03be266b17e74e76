// Unmodified HTTP servers behind socketbox through libsocketbox-preload: Python's
// http.server and a Node http server bind magic addresses under bin/run-with-socketbox;
// socketbox routes [2001:db8::N]:80 to the UNIX sockets those binds became; curl gets the
// pages from several client addresses and each server logs the true client address.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns([5, 6, 7]);

import t from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { curl, Daemon, startSocketbox, waitForUnixSocket } from './helpers/preload-fixtures';
import { binPath } from '../testkit/project-root';
import { tempDir } from '../testkit/temp-dir';
import { runWithSocketbox, withoutSkboxSettings } from './helpers/preload-probe';

const { dir } = tempDir();
const www = path.join(dir, 'www');
fs.mkdirSync(www);
fs.writeFileSync(path.join(www, 'hello.txt'), 'hello from python\n');

// Record file 1, written with the operator tool: slot 0 uses the port marker.
execFileSync(binPath('socketbox-dirtool'), ['write', '-d', dir, '-g', '1'], {
  input: `# test daemons\n0 ${dir}/py-_@SB_.sock\n1 ${dir}/node.sock\n`,
});
const pythonSocket = path.join(dir, 'py-00080.sock');
const nodeSocket = path.join(dir, 'node.sock');

const daemonEnv = { ...withoutSkboxSettings(process.env), SKBOX_DIRECTORY_ROOT: dir };
const clients = ['fd00:1::5', 'fd00:1::6', 'fd00:1::7'];

let socketbox: Daemon;
t.before(async () => {
  socketbox = await startSocketbox(
    [
      'max-rules:1',
      'rule-set:0',
      'size:10',
      `ip:2001:db8::1 port:80 jump-unix:${pythonSocket}`,
      `ip:2001:db8::2 port:80 jump-unix:${nodeSocket}`,
      'default fail',
      '',
    ].join('\n'),
    dir,
  );
});
t.teardown(() => socketbox?.stop());

t.test('Python http.server bound to [fe8f::1:0]:80 serves through socketbox', async (t) => {
  const python = Daemon.start(
    [runWithSocketbox, 'python3', '-u', '-m', 'http.server', '--bind', 'fe8f::1:0', '--directory', www, '80'],
    daemonEnv,
  );
  t.teardown(() => python.stop());
  await waitForUnixSocket(pythonSocket, python.child);
  t.equal(fs.statSync(pythonSocket).mode & 0o777, 0o660, 'the socket file is group-writable for socketbox');

  for (const client of clients) {
    t.equal(await curl('http://[2001:db8::1]/hello.txt', client), 'hello from python\n', `page fetched from ${client}`);
  }
  for (const client of clients) {
    const line = new RegExp(`^${client} - - \\[.*\\] "GET /hello.txt HTTP/1.1" 200`, 'm');
    // The log line may reach us just after the response.
    await waitFor(`a log line for ${client}`, () => line.test(python.stderr), 5_000).catch(() => undefined);
    t.match(python.stderr, line, `logged ${client}`);
  }
});

t.test('Node http server bound to [fe8f::1:1]:80 serves through socketbox', async (t) => {
  const script = path.join(dir, 'server.js');
  fs.writeFileSync(
    script,
    `const http = require('node:http');
http.createServer((req, res) => {
  console.log('request from ' + req.socket.remoteAddress + ' port ' + req.socket.remotePort + ' for ' + req.url);
  res.end('hello from node\\n');
}).listen({ host: 'fe8f::1:1', port: 80 }, () => console.log('listening'));
`,
  );
  const node = Daemon.start([runWithSocketbox, process.execPath, script], daemonEnv);
  t.teardown(() => node.stop());
  await waitForUnixSocket(nodeSocket, node.child);

  for (const client of clients) {
    t.equal(await curl(`http://[2001:db8::2]/from-${client}`, client), 'hello from node\n', `page fetched from ${client}`);
    const line = `request from ${client} port `;
    await waitFor(`a log line for ${client}`, () => node.stdout.includes(line), 5_000).catch(() => undefined);
    t.match(node.stdout, line, `logged ${client}`);
  }
  t.match(node.stdout, /^listening$/m, "the server's listen callback ran");
  t.notMatch(node.stderr, /Error/, 'no errors');
});
