/**
 * The control socket with a JSON config (docs/control.md): `ctl status` reports the
 * registrations held (slot, uid, since when), and `ctl explain` on the live table agrees
 * with where real connections go, per listener, before and after a reload.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Child, stopAll } from '../testkit/child';
import { enterTestNetns } from '../testkit/netns';
import { waitForListening } from '../testkit/proc-tcp';
import { tempDir } from '../testkit/temp-dir';
import { talk } from './helpers/client';
import { ask, ctl, ctlJson } from './helpers/control';
import { startInetdP, startJsonServer, waitForRegistered } from './helpers/registration';

enterTestNetns([5]);

const PORT = 8931;
const METRICS_PORT = 8981;
const { dir } = tempDir('skbox-control-json-');
fs.chmodSync(dir, 0o755);
const api = path.join(dir, 'api.sock');
const controlPath = path.join(dir, 'control');
const file = path.join(dir, 'socketbox.json');

const config = (firstSlot: string) => ({
  'socketbox-version': 1,
  incoming: [
    { address: '::', port: PORT },
    { address: '::', port: PORT + 1 },
  ],
  paths: [{ socket: api }],
  outgoing: [
    { uid: 0, path_nr: 0 },
    { uid: 0, path_nr: 0 },
  ],
  rules: {
    _start: {
      type: 'rule',
      rules: [
        { incoming_socket: 1, jump: 'o:1' },
        { l_ip: '2001:db8::1', jump: firstSlot },
      ],
    },
  },
});

interface Held {
  slot: number;
  uid: number;
  since: string;
  listenerMode: boolean;
}

t.test('JSON config: registrations in status, explain per listener matches real connections', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const started = Date.now();
  const server = startJsonServer(file, config('o:0'), METRICS_PORT, ['--control', controlPath, '--no-fast-path']);
  children.push(server);
  await waitForListening(PORT);
  children.push(startInetdP(api, 0, 'zero'), startInetdP(api, 1, 'one'));
  await waitForRegistered(METRICS_PORT, 2);

  const status = await ctlJson<{ registrations: Held[] }>(controlPath, 'status');
  t.same(status.registrations.map((r) => [r.slot, r.uid, r.listenerMode]), [[0, 0, false], [1, 0, false]], 'both slots held, by uid 0');
  for (const r of status.registrations) {
    const since = Date.parse(r.since);
    t.ok(since >= started - 1000 && since <= Date.now() + 1000, `slot ${r.slot}: registered since ${r.since}, after the server started`);
  }
  t.match((await ctl(controlPath, 'status')).stdout, /^registrations: 2 held \(o:0 by uid 0, o:1 by uid 0\)$/m, 'text status lists them');

  const explainFirst = async (local: string, listener: number) =>
    (await ask(controlPath, `explain ${local} ${PORT + listener} fd00:1::5 40000 ${listener}`)).stdout.split('\n')[0];
  const cases: Array<[string, number, string, string | null]> = [
    ['2001:db8::1', 0, 'ok deliver to o:0', 'zero'],
    ['2001:db8::1', 1, 'ok deliver to o:1', 'one'],
    ['2001:db8::9', 0, 'ok refuse (no match)', null],
  ];
  const check = async (when: string) => {
    for (const [local, listener, explained, receiver] of cases) {
      t.equal(await explainFirst(local, listener), explained, `${when}: explain [${local}]:${PORT + listener} on listener ${listener}`);
      const r = await talk(local, PORT + listener);
      if (receiver) t.equal(r.greeting, `${receiver} uid=0`, `${when}: a real connection there reaches ${receiver}`);
      else t.equal(r.greeting, null, `${when}: a real connection there is closed`);
    }
  };
  await check('generation 1');

  fs.writeFileSync(file, JSON.stringify(config('o:1')));
  t.equal((await ctl(controlPath, 'reload')).stdout, 'ok generation 2\n', 'reload: generation 2');
  cases[0] = ['2001:db8::1', 0, 'ok deliver to o:1', 'one'];
  await check('generation 2');

  const badListener = await ctl(controlPath, 'explain', '2001:db8::1', String(PORT), 'fd00:1::5', '1', '2');
  t.equal(badListener.status, 1, 'a LISTENER that does not exist: exit 1');
  t.match(badListener.stderr, /LISTENER: 2 is out of range \(0\.\.1\)/, 'and says why');
  t.equal(await server.stop('SIGTERM'), 0, 'stops with status 0');
});
