/**
 * sd_notify end to end: socketbox started by systemd-socket-activate with a
 * test-owned NOTIFY_SOCKET tells it READY=1 once serving, RELOADING=1 with
 * MONOTONIC_USEC then READY=1 around each SIGHUP (a failed reload too, with
 * a STATUS= saying so), WATCHDOG=1 every WATCHDOG_USEC/2, and STOPPING=1 on
 * SIGTERM, in that order, all from socketbox's own pid. `socketbox ctl reload` goes through the
 * same reload: RELOADING=1 and READY=1 around it, good or bad.
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
import { talk } from './helpers/client';
import { ctl } from './helpers/control';
import { Notification, notifications, startActivated, startNotifyListener } from './helpers/socket-activate';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-notify-'));
let nextPort = 9100;

/** What a notification is about, for checking the order; STATUS= alone is "status". */
function kind(n: Notification): string {
  for (const key of ['READY', 'RELOADING', 'STOPPING', 'WATCHDOG']) if (n.fields[key] === '1') return key;
  return 'STATUS' in n.fields ? 'status' : 'other';
}

/** The state changes in order, leaving out keep-alives and status refreshes. */
const stateChanges = (listener: Child): string[] =>
  notifications(listener).map(kind).filter((k) => k !== 'WATCHDOG' && k !== 'status');

const countOf = (listener: Child, k: string): number => notifications(listener).filter((n) => kind(n) === k).length;

t.test('READY, RELOADING+MONOTONIC_USEC, READY (failed reload too), WATCHDOG at half of WATCHDOG_USEC, STOPPING', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const listener = await startNotifyListener(path.join(dir, 'notify'));
  children.push(listener, await startReceiver(path.join(dir, 'svc.sock'), 'svc'));
  const conf = path.join(dir, 'ok.conf');
  const good = `max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::/64 jump-unix:${path.join(dir, 'svc.sock')}\n`;
  fs.writeFileSync(conf, good);
  const port = nextPort++;
  const server = startActivated(
    { listen: [`[::]:${port}`], env: { NOTIFY_SOCKET: path.join(dir, 'notify'), WATCHDOG_USEC: '400000' } },
    ['--workers', '2', '-f', conf],
  );
  children.push(server);
  await waitForListening(port);
  t.equal(countOf(listener, 'READY'), 0, 'nothing before socketbox started');
  t.equal((await talk('2001:db8::1', port, { line: 'a' })).echo, 'svc echo:a', 'the connection that started it is delivered');
  await waitFor('READY=1', () => countOf(listener, 'READY') === 1, 15_000);
  const ready = notifications(listener).find((n) => kind(n) === 'READY') as Notification;
  t.equal(ready.pid, server.pid, 'sent by socketbox itself (the main pid systemd expects)');
  t.match(ready.fields.STATUS, /^serving; accepted \d+, delivered \d+, refused 0$/, 'READY=1 carries a STATUS= summary');

  // Keep-alives over 1.5 s: one per 200 ms would be 7 or 8.
  const from = ready.monotonic_usec;
  await new Promise((r) => setTimeout(r, 1700));
  const watchdogs = notifications(listener).filter((n) => kind(n) === 'WATCHDOG' && n.monotonic_usec > from && n.monotonic_usec <= from + 1_500_000).length;
  t.ok(watchdogs >= 5 && watchdogs <= 9, `WATCHDOG=1 every ~200 ms: ${watchdogs} in 1.5 s`);

  // A reload that fails: RELOADING=1, then READY=1 saying the old rules stay.
  fs.writeFileSync(conf, 'max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::1 bogus\n');
  server.proc.kill('SIGHUP');
  await waitFor('READY=1 after the failed reload', () => countOf(listener, 'READY') === 2);
  // And one that works.
  fs.writeFileSync(conf, good);
  server.proc.kill('SIGHUP');
  await waitFor('READY=1 after the reload', () => countOf(listener, 'READY') === 3);
  const all = notifications(listener);
  const reloadings = all.filter((n) => kind(n) === 'RELOADING');
  const readies = all.filter((n) => kind(n) === 'READY');
  t.equal(reloadings.length, 2, 'RELOADING=1 for each SIGHUP');
  for (const n of reloadings) {
    const stamp = Number(n.fields.MONOTONIC_USEC);
    t.ok(stamp <= n.monotonic_usec && n.monotonic_usec - stamp < 1_000_000, `MONOTONIC_USEC=${stamp} is CLOCK_MONOTONIC when sent (received at ${n.monotonic_usec})`);
  }
  t.ok(Number(reloadings[1].fields.MONOTONIC_USEC) > Number(reloadings[0].fields.MONOTONIC_USEC), 'and grows from one reload to the next');
  t.match(readies[1].fields.STATUS, /^serving \(reload failed, previous rules kept: .*ok\.conf:4:.*\); accepted/, 'the failed reload says so in STATUS=');
  t.match(readies[2].fields.STATUS, /^serving; accepted/, 'a good reload clears it');
  t.equal((await talk('2001:db8::2', port, { line: 'b' })).echo, 'svc echo:b', 'still serving after the reloads');
  const watchdogsBefore = countOf(listener, 'WATCHDOG');
  await waitFor('WATCHDOG=1 after the reloads', () => countOf(listener, 'WATCHDOG') > watchdogsBefore, 5000);

  t.equal(await server.stop(), 0, 'SIGTERM: exit 0');
  await waitFor('STOPPING=1', () => countOf(listener, 'STOPPING') === 1, 5000);
  t.same(stateChanges(listener), ['READY', 'RELOADING', 'READY', 'RELOADING', 'READY', 'STOPPING'], 'in that order');
  const kinds = notifications(listener).map(kind);
  t.ok(kinds.indexOf('WATCHDOG') > kinds.indexOf('READY'), 'no WATCHDOG=1 before READY=1');
  t.equal(kinds.lastIndexOf('WATCHDOG') < kinds.indexOf('STOPPING'), true, 'none after STOPPING=1');
  t.ok(notifications(listener).every((n) => n.pid === server.pid), 'every notification from socketbox\'s pid');
});

t.test('an abstract NOTIFY_SOCKET; WATCHDOG_PID of another process; -S reloads; STATUS= refreshed', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const listener = await startNotifyListener('@skbox-notify-test');
  children.push(listener, await startReceiver('@skbox-notify-svc', 'abs'));
  const port = nextPort++;
  const server = startActivated(
    { listen: [`[::]:${port}`], env: { NOTIFY_SOCKET: '@skbox-notify-test', WATCHDOG_USEC: '200000', WATCHDOG_PID: '1' } },
    ['-S', '@skbox-notify-svc'],
  );
  children.push(server);
  await waitForListening(port);
  t.equal((await talk('2001:db8::1', port, { line: 'a' })).echo, 'abs echo:a', 'delivered to the abstract receiver');
  await waitFor('READY=1 on the abstract socket', () => countOf(listener, 'READY') === 1, 15_000);
  // -S has no config to reload, but systemd still waits for RELOADING=1 and READY=1.
  server.proc.kill('SIGHUP');
  await waitFor('READY=1 after SIGHUP', () => countOf(listener, 'READY') === 2);
  t.equal((await talk('2001:db8::1', port, { line: 'b' })).echo, 'abs echo:b', 'still serving after SIGHUP');
  // The summary is refreshed every 5 s when it changed.
  await waitFor('a STATUS= refresh counting both connections', () =>
    notifications(listener).some((n) => kind(n) === 'status' && /^serving; accepted 2, delivered 2, refused 0$/.test(n.fields.STATUS)),
  );
  t.pass('STATUS= refreshed with the live counters');
  t.equal(await server.stop(), 0, 'SIGTERM: exit 0');
  await waitFor('STOPPING=1', () => countOf(listener, 'STOPPING') === 1, 5000);
  t.same(stateChanges(listener), ['READY', 'RELOADING', 'READY', 'STOPPING'], 'in order');
  t.equal(countOf(listener, 'WATCHDOG'), 0, 'WATCHDOG_PID names another process: no WATCHDOG=1');
});

t.test('socketbox ctl reload: the same RELOADING=1 and READY=1 as SIGHUP, good or bad', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const listener = await startNotifyListener(path.join(dir, 'notify-ctl'));
  children.push(listener, await startReceiver(path.join(dir, 'ctl-svc.sock'), 'svc'));
  const conf = path.join(dir, 'ctl.conf');
  const good = `max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::/64 jump-unix:${path.join(dir, 'ctl-svc.sock')}\n`;
  fs.writeFileSync(conf, good);
  const controlPath = path.join(dir, 'control');
  const port = nextPort++;
  const server = startActivated({ listen: [`[::]:${port}`], env: { NOTIFY_SOCKET: path.join(dir, 'notify-ctl') } }, ['-f', conf, '--control', controlPath]);
  children.push(server);
  await waitForListening(port);
  t.equal((await talk('2001:db8::1', port, { line: 'a' })).echo, 'svc echo:a', 'serving');
  await waitFor('READY=1', () => countOf(listener, 'READY') === 1, 15_000);

  fs.writeFileSync(conf, 'max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::1 bogus\n');
  const bad = await ctl(controlPath, 'reload');
  t.same([bad.status, bad.stderr], [1, `${conf}:4:16: unknown token 'bogus'\n`], 'a bad reload: exit 1 with the reason');
  await waitFor('READY=1 after the failed reload', () => countOf(listener, 'READY') === 2);
  fs.writeFileSync(conf, good);
  const ok = await ctl(controlPath, 'reload');
  t.same([ok.status, ok.stdout], [0, 'ok generation 2\n'], 'a good reload: ok generation 2');
  await waitFor('READY=1 after the reload', () => countOf(listener, 'READY') === 3);
  const readies = notifications(listener).filter((n) => kind(n) === 'READY');
  t.match(readies[1].fields.STATUS, /^serving \(reload failed, previous rules kept: .*ctl\.conf:4:.*\); accepted/, 'the failed reload says so in STATUS=');
  t.match(readies[2].fields.STATUS, /^serving; accepted/, 'the good one clears it');
  t.equal(await server.stop(), 0, 'SIGTERM: exit 0');
  await waitFor('STOPPING=1', () => countOf(listener, 'STOPPING') === 1, 5000);
  t.same(stateChanges(listener), ['READY', 'RELOADING', 'READY', 'RELOADING', 'READY', 'STOPPING'], 'in that order');
});
