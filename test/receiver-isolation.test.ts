/**
 * What a receiver cannot do to socketbox, end to end in a private network namespace
 * (SECURITY.md, "What a receiver can and cannot do to socketbox"):
 * - it cannot send anything back: the hand-off comes from an unnamed socket, so the only
 *   sender address a receiver learns cannot be sent to, and socketbox binds no UNIX socket of
 *   its own in classic mode;
 * - it cannot make socketbox hold unbounded descriptors: with -U, 300 distinct target paths
 *   through one worker keep at most --max-targets datagram sockets open;
 * and the metrics endpoint listens on loopback only unless an address is given.
 */
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Child, stopAll } from '../testkit/child';
import { startSocketbox } from '../testkit/socketbox';
import { runLoad } from '../testkit/load-generator';
import { fdTargets } from '../testkit/proc-fds';
import { listeningAddresses, waitForListening } from '../testkit/proc-tcp';
import { unixSocketFdsOfType } from '../testkit/proc-unix';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-isolation-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const TARGETS = 300;
const MAX_TARGETS = 8;
const PORT = 8831;
const METRICS_PORT = 9831;
const UNIX_DATAGRAM = 2;

/** Paths of the UNIX sockets pid holds that are bound to a name, per /proc/net/unix. */
function boundUnixSocketsOf(pid: number): string[] {
  const inodes = new Set([...fdTargets(pid).values()].flatMap((target) => /^socket:\[(\d+)\]$/.exec(target)?.[1] ?? []));
  return fs
    .readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 8 && inodes.has(fields[6]))
    .map((fields) => fields.slice(7).join(' '));
}

t.test('300 -U targets through one worker: every connection served, never more than --max-targets sockets, nothing to send back to', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const receivers = new Child(spawn('python3', [path.join(__dirname, 'helpers', 'many_receivers.py'), dir, String(TARGETS)], { stdio: ['ignore', 'pipe', 'pipe'] }));
  children.push(receivers);
  await receivers.waitForEvent((e) => e.ready === true, 20_000, 'the receivers to bind');
  const conf = path.join(dir, 'isolation.conf');
  fs.writeFileSync(conf, `max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::/64 jump-unix:${dir}/t-#//7_.sock\n`);
  const server = startSocketbox(['-U', '--workers', '1', '--max-targets', String(MAX_TARGETS), '--metrics', String(METRICS_PORT), '-f', conf, '-l', '::', '-p', String(PORT)]);
  children.push(server);
  await waitForListening(PORT);
  await waitForListening(METRICS_PORT);

  t.same(listeningAddresses(METRICS_PORT), ['0100007F'], '--metrics PORT listens on 127.0.0.1 only');
  t.same(boundUnixSocketsOf(server.pid), [], 'socketbox binds no UNIX socket a receiver could address');

  const hosts = Array.from({ length: TARGETS }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);
  let most = 0;
  const load = await runLoad({
    hosts,
    port: PORT,
    connections: TARGETS * 2,
    inFlight: 16,
    onProgress: () => {
      most = Math.max(most, unixSocketFdsOfType(server.pid, UNIX_DATAGRAM).length);
    },
  });
  t.equal(load.delivered, TARGETS * 2, `all ${TARGETS * 2} connections to ${TARGETS} distinct targets were served`);
  t.ok(most > 0 && most <= MAX_TARGETS, `datagram sockets held while serving: at most ${most} (--max-targets ${MAX_TARGETS})`);
  t.ok(unixSocketFdsOfType(server.pid, UNIX_DATAGRAM).length <= MAX_TARGETS, 'and after');

  await receivers.stop();
  const report = receivers.events.find((e) => 'count' in e) as { count: number; senders: string[]; sendBack: string[] };
  t.equal(report.count, TARGETS * 2, 'the receivers answered every one');
  t.same(report.senders, [''], 'the only sender address a receiver learns is the unnamed one');
  t.notOk(report.sendBack.includes('sent'), `and nothing can be sent back to it (${report.sendBack.join(', ')})`);
});
