/**
 * The control socket (--control, docs/control.md) end to end, in a private network
 * namespace: `socketbox ctl status` (text and JSON, its numbers matching /metrics after a
 * load), `ctl reload` good and bad (the old rules keep routing), `ctl explain` agreeing
 * with where real connections go, the socket file's mode and owner and its removal at exit,
 * and a ctl against a missing socket.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Child, stopAll } from '../testkit/child';
import { startReceiver } from '../testkit/fd-tool';
import { enterTestNetns } from '../testkit/netns';
import { waitForListening } from '../testkit/proc-tcp';
import { startSocketbox } from '../testkit/socketbox';
import { tempDir } from '../testkit/temp-dir';
import { waitFor } from '../testkit/wait';
import { talk } from './helpers/client';
import { ask, ctl, ctlJson } from './helpers/control';
import { scrape, findValue, sum } from './helpers/metrics';

enterTestNetns([5, 6]);

const PORT = 8901;
const METRICS_PORT = 8951;
const { dir } = tempDir('skbox-control-');
const sock = (name: string): string => path.join(dir, `${name}.sock`);
const controlPath = path.join(dir, 'control');
const configFile = path.join(dir, 'socketbox.conf');

const config = (first: string): string => `max-rules:1
rule-set:0
size:8
ip:2001:db8::1 jump-unix:${sock(first)}
ip:2001:db8::2 jump-unix:${sock('b')}
ip:2001:db8::3 fail
ip:2001:db8::4 jump-unix:${sock('missing')}
`;

interface Status {
  generation: number;
  config: string;
  uptimeSeconds: number;
  workers: Array<{ index: number; state: string }>;
  reloads: { succeeded: number; failed: number; lastFailed: boolean };
  connections: { accepted: number; delivered: number; waiting: number; refused: Record<string, number> };
  targets: Array<{ target: string; delivered: number; refused: number; waiting: number }>;
}

t.test('ctl status, reload and explain against a running server', async (t) => {
  fs.writeFileSync(configFile, config('a'));
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  for (const name of ['a', 'b']) children.push(await startReceiver(sock(name), name));
  const server = startSocketbox(['-f', configFile, '-l', '::', '-p', String(PORT), '--workers', '2', '--control', controlPath, '--metrics', String(METRICS_PORT)]);
  children.push(server);
  await waitForListening(PORT);

  const st = fs.statSync(controlPath);
  t.ok(st.isSocket(), 'the control socket is a socket file');
  t.equal(st.mode & 0o777, 0o600, 'mode 0600');
  t.equal(st.uid, 0, 'owned by root (no -u)');

  const text = await ctl(controlPath, 'status');
  t.equal(text.status, 0, 'ctl status exits 0');
  t.match(text.stdout, new RegExp(`^ok serving generation 1 of ${configFile}, up \\d+ s\\n`), 'text status: generation and config file');
  t.match(text.stdout, /^workers: 0 running, 1 running$/m, 'both workers running');

  // A load: 5 to a, 3 to b, 2 failed by rule, 4 to a target with no receiver, 1 matching nothing.
  const load: Array<[string, number]> = [['2001:db8::1', 5], ['2001:db8::2', 3], ['2001:db8::3', 2], ['2001:db8::4', 4], ['2001:db8::9', 1]];
  for (const [host, n] of load) for (let i = 0; i < n; i++) await talk(host, PORT);

  const status = await ctlJson<Status>(controlPath, 'status');
  const families = await scrape(METRICS_PORT);
  const byTarget = (name: string) => status.targets.find((x) => x.target === name);
  t.equal(status.connections.accepted, 15, 'status: 15 accepted');
  t.equal(status.connections.accepted, sum(families, 'socketbox_connections_accepted_total'), 'accepted matches /metrics');
  t.equal(status.connections.delivered, 8, 'status: 8 delivered');
  for (const reason of ['fail', 'no_match', 'target_missing']) {
    t.equal(status.connections.refused[reason], findValue(families, 'socketbox_connections_refused_total', { reason }), `refused ${reason} matches /metrics`);
  }
  t.same(
    [byTarget(`unix:${sock('a')}`)?.delivered, byTarget(`unix:${sock('b')}`)?.delivered, byTarget(`unix:${sock('missing')}`)?.refused],
    [5, 3, 4],
    'per target: a delivered 5, b delivered 3, missing refused 4',
  );
  for (const target of status.targets) {
    t.equal(target.delivered, findValue(families, 'socketbox_connections_delivered_total', { target: target.target }) ?? 0, `${target.target}: delivered matches /metrics`);
    t.equal(target.refused, findValue(families, 'socketbox_connections_refused_by_target_total', { target: target.target }) ?? 0, `${target.target}: refused matches /metrics`);
    t.equal(target.waiting, findValue(families, 'socketbox_connections_pending', { target: target.target }) ?? 0, `${target.target}: waiting matches /metrics`);
  }
  t.same(status.workers, [{ index: 0, state: 'running' }, { index: 1, state: 'running' }], 'JSON: the workers and their state');
  t.equal(status.config, configFile, 'JSON: the config file');

  // explain on the live table agrees with what real connections do
  const explained = async (local: string, remote = 'fd00:1::5') => (await ask(controlPath, `explain ${local} ${PORT} ${remote} 40000`)).stdout.split('\n')[0];
  t.equal(await explained('2001:db8::1'), `ok deliver to unix:${sock('a')}`, 'explain ::1: a');
  t.match((await talk('2001:db8::1', PORT)).greeting, /^a /, 'a real connection to ::1 reaches a');
  t.equal(await explained('2001:db8::3'), 'ok refuse (fail)', 'explain ::3: fail');
  t.equal((await talk('2001:db8::3', PORT)).greeting, null, 'a real connection to ::3 is closed');
  t.equal(await explained('2001:db8::9'), 'ok refuse (no match)', 'explain ::9: no match');
  const jsonExplain = await ctlJson(controlPath, 'explain', '2001:db8::2', String(PORT), 'fd00:1::5', '1');
  t.same(jsonExplain, { ok: true, decision: 'target', target: `unix:${sock('b')}`, deliverTo: `unix:${sock('b')}`, generation: 1 }, 'explain --json');
  const badTuple = await ctl(controlPath, 'explain', 'not-an-address', '1', '::1', '2');
  t.equal(badTuple.status, 1, 'explain of a bad tuple exits 1');
  t.match(badTuple.stderr, /local address 'not-an-address' is not an IPv4 or IPv6 address/, 'and says why');

  // reload: good, then bad (the previous rules keep routing)
  fs.writeFileSync(configFile, config('b'));
  const good = await ctl(controlPath, 'reload');
  t.same([good.status, good.stdout], [0, 'ok generation 2\n'], 'good reload: "ok generation 2", exit 0');
  t.match((await talk('2001:db8::1', PORT)).greeting, /^b /, 'the new rules route ::1 to b at once');
  t.equal(await explained('2001:db8::1'), `ok deliver to unix:${sock('b')}`, 'explain sees the new table');

  fs.writeFileSync(configFile, `${config('a')}ip:2001:db8::5 jump-nowhere\n`);
  const bad = await ctl(controlPath, 'reload');
  t.equal(bad.status, 1, 'bad reload exits 1');
  t.equal(bad.stderr, `${configFile}:8:16: unknown token 'jump-nowhere'\n`, 'and prints FILE:LINE:COLUMN: reason');
  t.equal(bad.stdout, '', 'nothing on stdout');
  t.match((await talk('2001:db8::1', PORT)).greeting, /^b /, 'the previous rules still route ::1 to b');
  const after = await ctlJson<Status>(controlPath, 'status');
  t.same([after.generation, after.reloads], [2, { succeeded: 1, failed: 1, lastFailed: true }], 'status: generation 2, one failed reload');
  const jsonBad = await ctl(controlPath, '--json', 'reload');
  t.equal(jsonBad.status, 1, 'bad reload --json exits 1');
  t.match(JSON.parse(jsonBad.stdout), { ok: false, error: `${configFile}:8:16: unknown token 'jump-nowhere'` }, 'and answers ok false with the error');

  // SIGHUP goes through the same reload: the generation counts on
  fs.writeFileSync(configFile, config('a'));
  process.kill(server.pid, 'SIGHUP');
  await waitFor('the SIGHUP reload', () => /reloaded .* \(generation 3\)/.test(server.stderr));
  t.equal((await ctlJson<Status>(controlPath, 'status')).generation, 3, 'a SIGHUP reload is generation 3 in status');

  t.equal(await server.stop('SIGTERM'), 0, 'socketbox stops with status 0');
  t.notOk(fs.existsSync(controlPath), 'the control socket file is removed at exit');
});

t.test('-U: explain shows the path the template turns into, where a real connection goes', async (t) => {
  const templateConfig = path.join(dir, 'template.conf');
  const template = `${dir}/t-#//7_-#//P_.sock`; // not path.join: it would fold the markers' //
  fs.writeFileSync(templateConfig, `max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::/64 jump-unix:${template}\n`);
  const substituted = path.join(dir, `t-00001-${String(PORT + 5).padStart(5, '0')}.sock`); // 5 digits each
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(substituted, 'templated'));
  const server = startSocketbox(['-U', '-f', templateConfig, '-l', '::', '-p', String(PORT + 5), '--control', controlPath]);
  children.push(server);
  await waitForListening(PORT + 5);
  const explained = await ask(controlPath, `explain 2001:db8::1 ${PORT + 5} fd00:1::5 40000`);
  t.equal(explained.stdout.split('\n')[0], `ok deliver to unix:${substituted} (target unix:${template})`, 'explain substitutes the template');
  t.match((await talk('2001:db8::1', PORT + 5)).greeting, /^templated /, 'and a real connection reaches that path');
});

t.test('ctl usage errors and an unreachable socket', async (t) => {
  const missing = await ctl(path.join(dir, 'nothing-here'), 'status');
  t.equal(missing.status, 3, 'a missing socket: exit 3');
  t.match(missing.stderr, /nothing-here: cannot connect: .*ENOENT/, 'and says why');
  t.equal((await ctl(controlPath, 'frobnicate')).status, 2, 'an unknown command: exit 2');
  t.equal((await ctl(controlPath, 'explain', '::1')).status, 2, 'explain with too few arguments: exit 2');
  t.equal((await ctl(controlPath)).status, 2, 'no command: exit 2');
  const help = await ctl(controlPath, '--help');
  t.equal(help.status, 0, 'ctl --help exits 0');
  t.match(help.stdout, /^Usage: socketbox ctl \[-c PATH\] \[--json\] COMMAND \[ARGS\]/, 'and prints the usage');
});
