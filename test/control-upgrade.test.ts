/**
 * `socketbox ctl upgrade`: the live upgrade asked over the control socket, end to end in a
 * private network namespace. The answer names the new pid once it serves; connections made
 * across it all arrive; the control socket is handed over (the new process answers at the same
 * path, and removes the file at its stop); a refused upgrade answers why with exit 1 and the old
 * process answers on.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Child, stopAll } from '../testkit/child';
import { startDrainReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';
import { enterTestNetns } from '../testkit/netns';
import { waitForListening } from '../testkit/proc-tcp';
import { startSocketbox } from '../testkit/socketbox';
import { tempDir } from '../testkit/temp-dir';
import { waitFor } from '../testkit/wait';
import { isAlive } from '../testkit/proc-stat';
import { ctl, ctlJson } from './helpers/control';

enterTestNetns();

const HOSTS = Array.from({ length: 8 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);

/** A drain receiver and socketbox ARGS --control routing 2001:db8::/64 to it. */
async function start(children: Child[], name: string, port: number, args: string[] = []) {
  const tmp = tempDir();
  fs.chmodSync(tmp.dir, 0o700);
  const sockPath = path.join(tmp.dir, `${name}.sock`);
  const sink = await startDrainReceiver(sockPath, 'sink');
  children.push(sink);
  const conf = path.join(tmp.dir, `${name}.conf`);
  fs.writeFileSync(conf, `max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::/64 jump-unix:${sockPath}\n`);
  const control = path.join(tmp.dir, 'control');
  const server = startSocketbox([...args, '--control', control, '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  await waitFor('the control socket', () => fs.existsSync(control));
  return { tmp, sink, server, control };
}

t.test('ctl upgrade: answered with the new pid; nothing lost; the new process answers on the same control socket', async (t) => {
  const children: Child[] = [];
  let newPid = 0;
  const port = 8781;
  const { tmp, sink, server, control } = await start(children, 'up', port, ['--workers', '2']);
  t.teardown(async () => {
    if (newPid && isAlive(newPid)) process.kill(newPid, 'SIGKILL');
    await stopAll(children);
    tmp.remove();
  });
  const before = await runLoad({ hosts: HOSTS, port, connections: 1000, inFlight: 8 });
  t.equal(before.delivered, 1000, '1,000 connections before the upgrade');

  // The upgrade while connections keep coming.
  const during = runLoad({ hosts: HOSTS, port, connections: 3000, inFlight: 8 });
  const answer = await ctl(control, 'upgrade');
  t.equal(answer.status, 0, `ctl upgrade exits 0 (stderr: ${answer.stderr})`);
  const m = /^ok pid (\d+)$/m.exec(answer.stdout);
  t.ok(m, `answered "ok pid N": ${answer.stdout.trim()}`);
  newPid = Number(m?.[1]);
  t.not(newPid, server.pid, `the pid changed (${server.pid} -> ${newPid})`);
  const load = await during;
  t.equal(load.refused, 0, '0 connections failed at the client during the upgrade');
  t.equal(load.delivered, 3000, 'all 3,000 answered');
  t.equal(await server.wait(), 0, 'the old process exited 0');

  // The same path, now answered by the new process.
  t.ok(fs.existsSync(control), 'the control socket file stayed');
  const status = await ctlJson<{ generation?: number }>(control, 'status');
  t.ok(status.generation !== undefined, 'status answers after the upgrade');
  const after = await runLoad({ hosts: HOSTS, port, connections: 500, inFlight: 8 });
  t.equal(after.delivered, 500, 'the new process serves');
  const books = await ctlJson<{ connections: { accepted: number } }>(control, 'status');
  const accepted = Number(books.connections.accepted);
  t.ok(accepted >= 500 && accepted < 4500, `the new process's own books (${accepted} accepted)`);

  process.kill(newPid, 'SIGTERM');
  await waitFor('the new process to stop', () => !isAlive(newPid), 20_000);
  t.notOk(fs.existsSync(control), 'the new process removed the control socket file at its stop');
  t.equal((await stopDrainReceiver(sink)).count, 4500, 'the receiver counted every connection: none lost');
});

t.test('ctl upgrade refused (-x): exit 1 with the reason; the old process answers on', async (t) => {
  const children: Child[] = [];
  const { tmp, server, control } = await start(children, 'refused', 8782, ['-x', '/']);
  t.teardown(async () => {
    await stopAll(children);
    tmp.remove();
  });
  const answer = await ctl(control, 'upgrade');
  t.equal(answer.status, 1, 'exit 1');
  t.match(answer.stderr, /upgrade failed: -x \/: the new process would start inside the chroot/, 'the reason');
  t.equal(server.exitCode, null, 'the old process runs on');
  const status = await ctl(control, 'status');
  t.equal(status.status, 0, 'and answers status');
});
