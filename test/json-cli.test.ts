/**
 * The JSON config from the command line: --check and --explain read it, and
 * flags that describe what the JSON file describes itself are refused.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SOCKETBOX } from '../testkit/socketbox';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-json-cli-'));
const file = path.join(dir, 'server.json');
fs.writeFileSync(
  file,
  JSON.stringify(
    {
      'socketbox-version': 1,
      incoming: [{ address: '::', port: 8080 }, { fd: 3 }],
      paths: [{ socket: path.join(dir, 'api.sock') }],
      outgoing: [{ uid: 0, path_nr: 0 }, { uid: 1000, path_nr: 0 }],
      rules: {
        _start: { type: 'rule', rules: [{ incoming_socket: 1, jump: 'o:1' }, { l_ip: '2001:db8::/64', jump: 'r:hosts' }] },
        hosts: { type: 'map', rules: [{ l_ip: '2001:db8::1', l_port: 8080, jump: 'o:0' }] },
      },
    },
    null,
    2,
  ),
);

function run(args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(SOCKETBOX, args, { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

t.test('--check summarises a JSON config', async (t) => {
  const r = run(['--check', '-f', file]);
  t.equal(r.status, 0);
  t.match(r.out, `${file}: OK (JSON config, socketbox-version 1)`);
  t.match(r.out, /slots:\n\s+0\s+uid 0\s+on paths\[0\]/);
});

t.test('--check reports the position of a mistake', async (t) => {
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{"socketbox-version": 1,\n "incoming": [{"address": "::", "port": 1}],\n "rules": {"_start": {"type": "rule", "rules": [{"jump": "r:nowhere"}]}}}\n');
  const r = run(['--check', '-f', bad]);
  t.equal(r.status, 1);
  t.match(r.err, new RegExp(`${bad}:3:\\d+: .*nowhere`));
});

t.test('--explain follows a connection through the sets, per listener', async (t) => {
  const byAddress = run(['--explain', '-f', file, '2001:db8::1', '8080', 'fd00::5', '40000']);
  t.equal(byAddress.status, 0);
  t.match(byAddress.out, /_start: line \d+ -> r:hosts\n\s+hosts: line \d+ -> o:0\ndelivered to slot 0/);
  const byListener = run(['--explain', '-f', file, '2001:db8::1', '8080', 'fd00::5', '40000', '1']);
  t.match(byListener.out, /listener 1[^\n]*\n\s+_start: line \d+ -> o:1\ndelivered to slot 1/);
  const nowhere = run(['--explain', '-f', file, '2001:db8:1::1', '8080', 'fd00::5', '40000']);
  t.match(nowhere.out, /refused: no_match/);
  const missing = run(['--explain', '-f', file, '2001:db8::1', '8080', 'fd00::5', '40000', '2']);
  t.equal(missing.status, 2);
  t.match(missing.err, 'LISTENER 2 does not exist');
});

t.test('flags that a JSON config replaces are refused', async (t) => {
  for (const flags of [['-l', '::1'], ['-p', '81'], ['-S', '/run/x.sock'], ['-P', '0:/run/api.sock'], ['-U']]) {
    const r = run(['-f', file, ...flags]);
    t.equal(r.status, 2, `${flags[0]}: usage error`);
    t.match(r.err, `is a JSON config, which names its own listeners and targets: ${flags[0]} cannot be used with it`);
  }
});
