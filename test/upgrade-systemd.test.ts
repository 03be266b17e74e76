/**
 * The live upgrade under systemd's protocols, end to end: socketbox socket-activated by
 * systemd-socket-activate (LISTEN_FDS) with a test-owned NOTIFY_SOCKET and WATCHDOG_USEC.
 * After SIGUSR2 the new process, which took the activated socket over, sends MAINPID= with
 * its READY=1 and keeps the watchdog fed from its own pid; the old one sends no STOPPING=1
 * (it is no longer the service's main process) and exits 0. And with -u nobody the new
 * process, started without privileges, runs as nobody and serves.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { startReceiver } from '../testkit/fd-tool';
import { statusField } from '../testkit/proc-status';
import { startSocketbox } from '../testkit/socketbox';
import { talk } from './helpers/client';
import { NOBODY } from './helpers/registration';
import { notifications, startActivated, startNotifyListener } from './helpers/socket-activate';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-upgrade-systemd-'));
fs.chmodSync(dir, 0o755); // the receiver's socket must be reachable by nobody
let nextPort = 9150;

const upgradedPid = (stderr: string): number => Number(/upgrade: pid (\d+) serves now/.exec(stderr)?.[1] ?? 0);

function killIfAlive(pid: number): void {
  try {
    if (pid) process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

t.test('socket-activated, with NOTIFY_SOCKET and WATCHDOG_USEC: MAINPID= and READY=1 from the new process, no STOPPING=1 from the old', async (t) => {
  const children: Child[] = [];
  let upgraded = 0;
  t.teardown(async () => {
    killIfAlive(upgraded);
    await stopAll(children);
  });
  const listener = await startNotifyListener(path.join(dir, 'notify'));
  children.push(listener, await startReceiver(path.join(dir, 'svc.sock'), 'svc'));
  const conf = path.join(dir, 'svc.conf');
  fs.writeFileSync(conf, `max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::/64 jump-unix:${path.join(dir, 'svc.sock')}\n`);
  const port = nextPort++;
  const server = startActivated({ listen: [`[::]:${port}`], env: { NOTIFY_SOCKET: path.join(dir, 'notify'), WATCHDOG_USEC: '400000' } }, ['-f', conf]);
  children.push(server);
  await waitForListening(port);
  t.equal((await talk('2001:db8::1', port, { line: 'a' })).echo, 'svc echo:a', 'served before');
  await waitFor('READY=1', () => notifications(listener).some((n) => n.fields.READY === '1'), 15_000);
  server.proc.kill('SIGUSR2');
  await waitFor(() => `the upgrade; stderr: ${server.stderr}`, () => upgradedPid(server.stderr) > 0, 20_000);
  upgraded = upgradedPid(server.stderr);
  t.equal(await server.wait(20_000), 0, 'the old process exited 0');
  const ready = notifications(listener).find((n) => n.fields.MAINPID !== undefined);
  t.equal(ready?.fields.MAINPID, String(upgraded), 'MAINPID= names the new process');
  t.equal(ready?.fields.READY, '1', 'in the same message as READY=1');
  t.equal(ready?.pid, upgraded, 'sent by the new process');
  t.notOk(notifications(listener).some((n) => n.fields.STOPPING === '1'), 'the old process sent no STOPPING=1');
  await waitFor('a WATCHDOG=1 from the new process', () => notifications(listener).some((n) => n.fields.WATCHDOG === '1' && n.pid === upgraded), 5000);
  t.pass('the new process keeps the watchdog fed');
  t.equal((await talk('2001:db8::1', port, { line: 'b' })).echo, 'svc echo:b', 'the new process serves the activated socket');
});

t.test('-u nobody: the new process starts as nobody, without privileges, and serves', async (t) => {
  const children: Child[] = [];
  let upgraded = 0;
  t.teardown(async () => {
    killIfAlive(upgraded);
    await stopAll(children);
  });
  const sock = path.join(dir, 'nobody.sock');
  children.push(await startReceiver(sock, 'nb'));
  fs.chmodSync(sock, 0o777);
  const port = nextPort++;
  const server = startSocketbox(['-u', String(NOBODY), '-g', String(NOBODY), '-S', sock, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  server.proc.kill('SIGUSR2');
  await waitFor(() => `the upgrade; stderr: ${server.stderr}`, () => upgradedPid(server.stderr) > 0, 20_000);
  upgraded = upgradedPid(server.stderr);
  t.equal(await server.wait(20_000), 0, 'the old process exited 0');
  t.match(statusField(upgraded, 'Uid'), new RegExp(`^${NOBODY}\\s+${NOBODY}\\s+${NOBODY}\\s+${NOBODY}$`), 'the new process runs as nobody');
  t.match(statusField(upgraded, 'CapEff'), /^0+$/, 'with no capability');
  t.equal((await talk('2001:db8::1', port, { line: 'c' })).echo, 'nb echo:c', 'and serves');
});
