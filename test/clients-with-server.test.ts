// The real chain: client → `socketbox -S PATH -l ::1 -p PORT` → socketbox-inetd → program.
// The same checks as the sender-helper tests, with the actual server in front.
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { exited, startInetd, type InetdProcess } from './helpers/inetd-process';
import { binPath } from '../testkit/project-root';
import { tempDir } from '../testkit/temp-dir';
import { waitFor } from '../testkit/wait';
import { openFds } from '../testkit/proc-fds';
import { childrenOf, zombieChildren } from '../testkit/proc-stat';
import { waitForListening } from '../testkit/proc-tcp';
import { freePort } from '../testkit/free-port';
import { exchange } from './helpers/tcp-client';

const LOOP6 = '0000:0000:0000:0000:0000:0000:0000:0001';

interface Chain {
  port: number;
  inetd: InetdProcess;
  server: ChildProcess;
  serverStderr(): string;
}

async function chain(t: Test, program: string[]): Promise<Chain> {
  const tmp = tempDir();
  const socketPath = path.join(tmp.dir, 'inetd.sock');
  const inetd = await startInetd(socketPath, program);
  const port = await freePort();
  // 200 concurrent connections queue behind inetd's 64 children: on a loaded machine the last
  // ones wait longer than the default 2s dispatch timeout, which is not what this file tests.
  const server = spawn(binPath('socketbox'), ['-S', socketPath, '-l', '::1', '-p', String(port), '--dispatch-timeout', '60s'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let serverStderr = '';
  server.stderr.on('data', (c) => (serverStderr += c));
  t.teardown(async () => {
    server.kill('SIGTERM');
    await exited(server);
    await inetd.stop();
    tmp.remove();
  });
  await waitForListening(port, 20_000).catch((error) => {
    throw new Error(`${(error as Error).message}; socketbox said: ${serverStderr}`);
  });
  return { port, inetd, server, serverStderr: () => serverStderr };
}

t.test('socketbox → inetd → cat: data flows', async (t) => {
  const c = await chain(t, ['cat']);
  t.equal((await exchange(c.port, 'through socketbox\n')).output, 'through socketbox\n');
  const big = 'y'.repeat(200_000);
  t.equal((await exchange(c.port, big)).output, big);
});

t.test('socketbox → inetd → socket-query: the client sees the right addresses', async (t) => {
  const q = binPath('socket-query');
  const c = await chain(t, ['sh', '-c', `${q}; ${q} -lp; ${q} -rp; ls /proc/$$/fd`]);
  const { output, localPort } = await exchange(c.port);
  t.same(output.split('\n'), [
    `[${LOOP6}]:${c.port} [${LOOP6}]:${localPort}`,
    String(c.port),
    String(localPort),
    '0',
    '1',
    '2',
    '',
  ], 'addresses as the client dialled them; the program holds only fds 0, 1, 2');
});

t.test('1,000 sequential and 200 concurrent connections: no zombie, no leaked descriptor', async (t) => {
  const c = await chain(t, ['cat']);
  const pid = c.inetd.pid;
  const settled = () => waitFor('children to exit', () => childrenOf(pid).length === 0, 20_000);
  t.equal((await exchange(c.port, 'warm-up')).output, 'warm-up');
  await settled();
  const baseline = openFds(pid);

  let wrong = 0;
  for (let i = 0; i < 1000; i++) {
    if ((await exchange(c.port, `s${i}`)).output !== `s${i}`) wrong++;
  }
  t.equal(wrong, 0, '1,000 sequential connections echoed their own data');
  await settled();
  t.same(zombieChildren(pid), []);
  t.same(openFds(pid), baseline, 'inetd descriptors back to baseline');

  const outputs = await Promise.all(Array.from({ length: 200 }, (_, i) => exchange(c.port, `c${i}`).then((r) => r.output)));
  t.same(outputs, Array.from({ length: 200 }, (_, i) => `c${i}`), '200 concurrent connections echoed');
  await settled();
  t.same(zombieChildren(pid), []);
  t.same(openFds(pid), baseline, 'inetd descriptors back to baseline');
});
