// socketbox-inetd under load: 1,000 sequential and 200 concurrent connections through `cat`
// leave no zombie child and no leaked descriptor in the inetd (/proc/PID/fd back to its
// baseline), and every connection carries its own data (the 200 concurrent ones also pass
// through the --max-children limit).
import t from 'tap';
import * as path from 'node:path';
import { startInetd } from './helpers/inetd-process';
import { tempDir } from '../testkit/temp-dir';
import { waitFor } from '../testkit/wait';
import { openFds } from '../testkit/proc-fds';
import { childrenOf, zombieChildren } from '../testkit/proc-stat';
import { startTcpToUnixSender } from './helpers/tcp-to-unix-sender';
import { exchange } from './helpers/tcp-client';

t.test('1,000 sequential and 200 concurrent connections', async (t) => {
  const tmp = tempDir();
  const socketPath = path.join(tmp.dir, 'load.sock');
  const inetd = await startInetd(socketPath, ['cat']);
  const sender = await startTcpToUnixSender(socketPath);
  t.teardown(async () => {
    await sender.close();
    await inetd.stop();
    tmp.remove();
  });
  const settled = async (what: string) => {
    await waitFor(`children of inetd to exit ${what}`, () => childrenOf(inetd.pid).length === 0, 20_000);
  };

  // Baseline after one connection, so lazily created runtime descriptors are counted in.
  t.equal((await exchange(sender.port, 'warm-up\n')).output, 'warm-up\n');
  await settled('after warm-up');
  const baseline = openFds(inetd.pid);

  // A program that has just exited is a zombie until the inetd's SIGCHLD handler reaps it;
  // one still there 100 connections later would be a child never reaped.
  let previousZombies: number[] = [];
  let lingering = 0;
  for (let i = 0; i < 1000; i++) {
    const { output } = await exchange(sender.port, `seq ${i}\n`);
    if (output !== `seq ${i}\n`) t.fail(`sequential connection ${i} got ${JSON.stringify(output)}`);
    if (i % 100 === 0) {
      const zombies = zombieChildren(inetd.pid).map((z) => z.pid);
      lingering += zombies.filter((pid) => previousZombies.includes(pid)).length;
      previousZombies = zombies;
    }
  }
  t.pass('1,000 sequential connections echoed their own data');
  await settled('after the sequential run');
  t.equal(lingering, 0, 'no zombie lingered during the sequential run');
  t.same(zombieChildren(inetd.pid), [], 'no zombie after the sequential run');
  t.same(openFds(inetd.pid), baseline, 'inetd descriptors back to baseline');

  const outputs = await Promise.all(
    Array.from({ length: 200 }, (_, i) => exchange(sender.port, `con ${i}\n`).then((r) => r.output)),
  );
  t.same(outputs, Array.from({ length: 200 }, (_, i) => `con ${i}\n`), '200 concurrent connections echoed');
  await settled('after the concurrent run');
  t.same(zombieChildren(inetd.pid), [], 'no zombie after the concurrent run');
  t.same(openFds(inetd.pid), baseline, 'inetd descriptors back to baseline');
  t.same(sender.stats, { sent: 1201, failed: 0 }, 'every connection was handed over');
  // 200 at once exceed the default --max-children 64: the rest waited, which is said once.
  const complaints = inetd.stderr().split('\n').filter((line) => line !== '' && !/64 programs running \(--max-children\)/.test(line));
  t.same(complaints, [], 'nothing to complain about');
});
