// socketbox -> socketbox-relay -> a real HTTP server, fetched with curl through the front
// address: Python's http.server over TCP, Node's http over a UNIX socket (path and abstract).
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { waitForListening } from '../testkit/proc-tcp';
import { startFrontAndRelay } from './helpers/relay-process';
import { tempDir } from '../testkit/temp-dir';
import { startPythonUnixHttp } from './helpers/relay-unix-http';

const run = promisify(execFile);
const FRONT_PORT = 8080;
const PYTHON_PORT = 8000;

async function curl(url: string): Promise<Buffer> {
  const { stdout } = await run('curl', ['-sS', '--fail', '--max-time', '20', '-g', url], { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

t.test("Python's http.server behind the relay: bodies arrive intact", async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const www = path.join(tmp.dir, 'www');
  fs.mkdirSync(www);
  fs.writeFileSync(path.join(www, 'hello.txt'), 'hello through the relay\n');
  const big = crypto.randomBytes(3 << 20);
  fs.writeFileSync(path.join(www, 'big.bin'), big);

  const python = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', String(PYTHON_PORT), '--directory', www], {
    stdio: 'ignore',
  });
  t.teardown(() => {
    python.kill('SIGTERM');
  });
  await waitForListening(PYTHON_PORT);
  const { relay, stop } = await startFrontAndRelay(tmp.dir, FRONT_PORT, ['-c', '127.0.0.1', '-p', String(PYTHON_PORT)]);
  t.teardown(stop);

  t.equal((await curl(`http://[2001:db8::1]:${FRONT_PORT}/hello.txt`)).toString(), 'hello through the relay\n');
  const got = await curl(`http://[2001:db8::1]:${FRONT_PORT}/big.bin`);
  t.equal(got.length, big.length, '3 MB body, full length');
  t.equal(crypto.createHash('sha256').update(got).digest('hex'), crypto.createHash('sha256').update(big).digest('hex'), 'same bytes');
  const listing = (await curl(`http://127.0.0.1:${FRONT_PORT}/`)).toString();
  t.match(listing, /hello\.txt/, 'an IPv4 client reaches it too');

  const lines = relay.stderr().trim().split('\n');
  t.equal(lines.length, 3, 'one log line per connection');
  t.match(lines[0], new RegExp(`^\\d+ \\[[0-9a-f:]+\\]:\\d+ -> \\[2001:db8::1\\]:${FRONT_PORT}$`));
  t.match(lines[2], new RegExp(`^\\d+ \\[::ffff:127\\.0\\.0\\.1\\]:\\d+ -> \\[::ffff:127\\.0\\.0\\.1\\]:${FRONT_PORT}$`));
  const seconds = Number(lines[0].split(' ')[0]);
  t.ok(Math.abs(seconds - Date.now() / 1000) < 60, 'TIME is seconds since the epoch');
});

async function nodeHttpOnUnix(listenPath: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`unix backend saw ${req.method} ${req.url}\n`);
  });
  await new Promise<void>((resolve) => server.listen(listenPath, resolve));
  return server;
}

t.test("Node's http on a UNIX socket path behind the relay (-u PATH)", async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const socketFile = path.join(tmp.dir, 'http.sock');
  const server = await nodeHttpOnUnix(socketFile);
  t.teardown(() => server.close());
  const { stop } = await startFrontAndRelay(tmp.dir, FRONT_PORT, ['-u', socketFile]);
  t.teardown(stop);
  t.equal((await curl(`http://[2001:db8::2]:${FRONT_PORT}/a?b=c`)).toString(), 'unix backend saw GET /a?b=c\n');
});

t.test('an HTTP server on an abstract UNIX socket behind the relay (-u @NAME)', async (t) => {
  const tmp = tempDir();
  t.teardown(tmp.remove);
  const name = `@skbox-relay-test-${process.pid}`;
  const python = await startPythonUnixHttp(name);
  t.teardown(() => {
    python.kill('SIGTERM');
  });
  const { stop } = await startFrontAndRelay(tmp.dir, FRONT_PORT, ['-u', name]);
  t.teardown(stop);
  t.equal((await curl(`http://[2001:db8::3]:${FRONT_PORT}/abstract`)).toString(), 'python unix backend saw GET /abstract\n');
});
