/**
 * The privilege sequence of docs/startup.md, read back from /proc: after -u/-g/-G/-x
 * the serving process has the new identity, no capabilities, NoNewPrivs set
 * and the chroot as its root, and still routes connections (target paths
 * resolve inside the chroot). -k wins over a JSON daemon.groups; a JSON reload
 * inside a chroot keeps the user names resolved at start-up. A failing step
 * exits before anything is served.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { threadIds } from '../testkit/proc-stat';
import { statusField } from '../testkit/proc-status';
import { isListening, waitForListening } from '../testkit/proc-tcp';
import { waitFor } from '../testkit/wait';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { startSocketbox } from '../testkit/socketbox';
import { startReceiver } from '../testkit/fd-tool';
import { talk } from './helpers/client';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-priv-'));
fs.chmodSync(dir, 0o755);
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

t.test('-u -g -G -x: new identity, no capabilities, NoNewPrivs, chroot; still serving', async (t) => {
  const root = path.join(dir, 'jail');
  fs.mkdirSync(path.join(root, 'run'), { recursive: true });
  fs.chmodSync(root, 0o755);
  fs.chmodSync(path.join(root, 'run'), 0o755);
  const conf = path.join(dir, 'jail.conf');
  // The config is read before chroot; its target path resolves inside the chroot.
  fs.writeFileSync(conf, 'max-rules:1\nrule-set:0\nsize:1\nip:2001:db8::/64 jump-unix:/run/jailed.sock\n');
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startReceiver(path.join(root, 'run', 'jailed.sock'), 'jailed'));
  const port = 8501;
  const server = startSocketbox(['-u', '65534', '-g', '65534', '-G', '65533,65532', '-x', root, '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  const pid = server.pid;
  t.equal(statusField(pid, 'Uid'), '65534\t65534\t65534\t65534', 'real, effective, saved and fs uid');
  t.equal(statusField(pid, 'Gid'), '65534\t65534\t65534\t65534', 'real, effective, saved and fs gid');
  t.equal(statusField(pid, 'Groups'), '65532 65533', 'exactly the -G groups');
  t.equal(fs.readlinkSync(`/proc/${pid}/root`), root, 'the root is the chroot');
  for (const tid of threadIds(pid)) {
    const sets = ['CapEff', 'CapPrm', 'CapInh', 'CapAmb', 'CapBnd'].map((set) => `${set} ${statusField(pid, set, tid)}`);
    t.same(sets, ['CapEff', 'CapPrm', 'CapInh', 'CapAmb', 'CapBnd'].map((set) => `${set} 0000000000000000`), `thread ${tid}: every capability set is empty`);
    t.equal(statusField(pid, 'Uid', tid), '65534\t65534\t65534\t65534', `thread ${tid}: runs as the new uid`);
    t.equal(statusField(pid, 'NoNewPrivs', tid), '1', `thread ${tid}: NoNewPrivs`);
  }
  t.equal(statusField(pid, 'NoNewPrivs'), '1', 'NoNewPrivs is set');
  const r = await talk('2001:db8::1', port, { line: 'inside' });
  t.equal(r.echo, 'jailed echo:inside', 'connections are routed to the path inside the chroot');
});

t.test('a user name brings its group and clears root’s supplementary groups', async (t) => {
  const port = 8502;
  const server = startSocketbox(['-u', 'nobody', '-S', '@priv-x', '-l', '::', '-p', String(port)]);
  t.teardown(() => stopAll([server]));
  await waitForListening(port);
  const pw = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))?.split(':') ?? [];
  t.equal(statusField(server.pid, 'Uid').split('\t')[0], pw[2], 'uid of nobody');
  t.equal(statusField(server.pid, 'Gid').split('\t')[0], pw[3], 'primary group of nobody');
  t.equal(statusField(server.pid, 'Groups'), '', 'no supplementary groups');
});

t.test('-k keeps the supplementary groups', async (t) => {
  const port = 8503;
  const server = startSocketbox(['-k', '-u', '65534', '-S', '@priv-y', '-l', '::', '-p', String(port)]);
  t.teardown(() => stopAll([server]));
  await waitForListening(port);
  t.equal(statusField(server.pid, 'Groups'), statusField(process.pid, 'Groups'), 'the groups of the starting process');
});

t.test('-k wins over the JSON daemon.groups, as every flag wins over the file', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const file = path.join(dir, 'groups.json');
  let port = 8504;
  const start = (flags: string[]): Child => {
    const config = { 'socketbox-version': 1, incoming: [{ address: '::', port: ++port }], daemon: { uid: 65534, gid: 65534, groups: [65533] }, rules: { _start: { type: 'rule', rules: [] } } };
    fs.writeFileSync(file, JSON.stringify(config));
    const server = startSocketbox([...flags, '-f', file]);
    children.push(server);
    return server;
  };
  const fromFile = start([]);
  await waitForListening(port);
  t.equal(statusField(fromFile.pid, 'Groups'), '65533', 'without -k: the groups of daemon.groups');
  const kept = start(['-k']);
  await waitForListening(port);
  t.equal(statusField(kept.pid, 'Groups'), statusField(process.pid, 'Groups'), '-k: the groups of the starting process');
});

t.test('a JSON reload inside a chroot without /etc/passwd: start-up user names still resolve, a new one is an error at its position', async (t) => {
  const root = path.join(dir, 'json-jail');
  fs.mkdirSync(root);
  fs.chmodSync(root, 0o755);
  const file = path.join(dir, 'jail.json');
  const port = 8560;
  const write = (users: string[]): void => {
    const text = JSON.stringify(
      {
        'socketbox-version': 1,
        incoming: [{ address: '::', port }],
        paths: [{ socket: path.join(dir, 'jail-api.sock') }],
        outgoing: users.map((uid) => ({ uid, path_nr: 0 })),
        daemon: { chroot: root },
        rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } },
      },
      null,
      2,
    );
    // Read before chroot at start-up; a reload reads the same path inside the chroot.
    fs.writeFileSync(file, text);
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  };
  write(['nobody']);
  const server = startSocketbox(['-f', file, '--no-fast-path']);
  t.teardown(() => stopAll([server]));
  await waitForListening(port);
  t.notOk(fs.existsSync(path.join(root, 'etc', 'passwd')), 'no passwd file inside the chroot');
  server.proc.kill('SIGHUP');
  await waitFor('the first reload', () => /reload(ed|.*failed)/.test(server.stderr), 10_000);
  t.match(server.stderr, /reloaded .*jail\.json: 1 sets, 1 entries, 1 slots \(generation 2\)/, 'the same names reload');
  t.notMatch(server.stderr, /reload failed/);
  write(['nobody', 'no-such-user-here']);
  server.proc.kill('SIGHUP');
  await waitFor('the second reload', () => /reload failed/.test(server.stderr), 10_000);
  t.match(server.stderr, /reload failed, keeping the previous rules: .*jail\.json:\d+:\d+: outgoing\[1\]: user 'no-such-user-here' not found/, 'a new name that cannot be resolved: an error at its position');
  t.equal(await server.stop(), 0);
});

t.test('a failing step exits before serving', async (t) => {
  const cases: Array<[string[], number, RegExp]> = [
    [['-u', 'no-such-user-here'], 2, /user 'no-such-user-here' not found/],
    [['-g', 'no-such-group-here'], 2, /group 'no-such-group-here' not found/],
    [['-S', '@x', '-x', path.join(dir, 'missing')], 1, /chroot .*missing: No such file or directory/],
    [['-f', path.join(dir, 'absent.conf')], 1, /cannot read config .*absent\.conf/],
  ];
  let port = 8510;
  for (const [args, status, message] of cases) {
    port++;
    const server = startSocketbox([...args, '-l', '::', '-p', String(port)]);
    t.equal(await server.wait(), status, `${args.join(' ')}: exit ${status}`);
    t.match(server.stderr, message);
    t.notOk(isListening(port), 'never listened');
  }
});

/** A passwd entry whose primary group differs from its uid (and neither is root), to tell them apart. */
function userWithOtherGroup(): { uid: number; gid: number } {
  for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [, , uid, gid] = line.split(':').map(Number);
    if (uid > 0 && gid > 0 && uid !== gid && Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
  }
  throw new Error('no passwd entry with a primary group other than its uid');
}

/** A uid with no passwd entry. */
function uidWithoutEntry(): number {
  const taken = new Set(fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => Number(l.split(':')[2])));
  let uid = 54321;
  while (taken.has(uid)) uid++;
  return uid;
}

t.test('out-of-range ids are usage errors, before anything is bound', async (t) => {
  // Each of these used to wrap around to 0: the server then stayed root (or joined group 0).
  const cases: Array<[string[], RegExp]> = [
    [['-u', '4294967296'], /-u: 4294967296 is out of range \(0\.\.4294967294\)/],
    [['-u', '4294967295'], /-u: 4294967295 is out of range/],
    [['-u', '-1'], /-u: -1 is out of range/],
    [['-u', '65534', '-g', '4294967296'], /-g: 4294967296 is out of range/],
    [['-u', '65534', '-G', '65533,8589934592'], /-G: 8589934592 is out of range/],
  ];
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  let port = 8520;
  for (const [args, message] of cases) {
    port++;
    const server = startSocketbox([...args, '-S', '@range', '-l', '::', '-p', String(port)]);
    children.push(server);
    t.equal(await server.wait(), 2, `${args.join(' ')}: exit 2`);
    t.match(server.stderr, message);
    t.notOk(isListening(port), 'never listened');
  }
});

t.test('JSON daemon ids out of range: exit 1 at file:line:column, nothing bound', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['"uid": "4294967296"', /range\.json:4:20: daemon\.uid must be 0\.\.4294967294, not '4294967296'/],
    ['"uid": 65534, "gid": "4294967295"', /range\.json:4:34: daemon\.gid must be 0\.\.4294967294/],
    ['"uid": 65534, "groups": [1, "-1"]', /range\.json:4:41: daemon\.groups\[1\] must be 0\.\.4294967294, not '-1'/],
  ];
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  let port = 8530;
  for (const [daemon, message] of cases) {
    port++;
    const file = path.join(dir, 'range.json');
    const socket = path.join(dir, 'range-api.sock');
    fs.writeFileSync(
      file,
      `{"socketbox-version": 1,\n "incoming": [{"address": "::", "port": ${port}}],\n "paths": [{"socket": "${socket}"}],\n` +
        ` "daemon": {${daemon}},\n "rules": {"_start": {"type": "rule", "rules": []}}}\n`,
    );
    const server = startSocketbox(['-f', file]);
    children.push(server);
    t.equal(await server.wait(), 1, `${daemon}: exit 1`);
    t.match(server.stderr, message);
    t.notOk(isListening(port), 'the listener was never bound');
    t.notOk(fs.existsSync(socket), 'no registration socket was created');
  }
});

t.test('a numeric -u takes the primary group of its passwd entry', async (t) => {
  const { uid, gid } = userWithOtherGroup();
  const port = 8540;
  const server = startSocketbox(['-u', String(uid), '-S', '@numeric', '-l', '::', '-p', String(port)]);
  t.teardown(() => stopAll([server]));
  await waitForListening(port);
  t.equal(statusField(server.pid, 'Uid'), `${uid}\t${uid}\t${uid}\t${uid}`, 'real, effective, saved and fs uid');
  t.equal(statusField(server.pid, 'Gid'), `${gid}\t${gid}\t${gid}\t${gid}`, 'its passwd group, not root’s group 0');
  t.equal(statusField(server.pid, 'Groups'), '', 'no supplementary groups');
});

t.test('JSON daemon.uid as a number takes its passwd group too', async (t) => {
  const { uid, gid } = userWithOtherGroup();
  const port = 8541;
  const file = path.join(dir, 'numeric.json');
  fs.writeFileSync(file, JSON.stringify({ 'socketbox-version': 1, incoming: [{ address: '::', port }], daemon: { uid }, rules: { _start: { type: 'rule', rules: [] } } }));
  const server = startSocketbox(['-f', file]);
  t.teardown(() => stopAll([server]));
  await waitForListening(port);
  t.equal(statusField(server.pid, 'Uid'), `${uid}\t${uid}\t${uid}\t${uid}`);
  t.equal(statusField(server.pid, 'Gid'), `${gid}\t${gid}\t${gid}\t${gid}`, 'no id is left 0');
});

t.test('a numeric uid with no passwd entry and no group is refused, before anything is bound', async (t) => {
  const uid = uidWithoutEntry();
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  let port = 8550;
  const flag = startSocketbox(['-u', String(uid), '-S', '@orphan', '-l', '::', '-p', String(++port)]);
  children.push(flag);
  t.equal(await flag.wait(), 2, '-u alone: exit 2');
  t.match(flag.stderr, new RegExp(`uid ${uid} has no passwd entry.*give the group with -g GROUP`));
  t.notOk(isListening(port), 'never listened');

  const file = path.join(dir, 'orphan.json');
  const socket = path.join(dir, 'orphan-api.sock');
  fs.writeFileSync(
    file,
    `{"socketbox-version": 1,\n "incoming": [{"address": "::", "port": ${++port}}],\n "paths": [{"socket": "${socket}"}],\n` +
      ` "daemon": {"uid": ${uid}},\n "rules": {"_start": {"type": "rule", "rules": []}}}\n`,
  );
  const json = startSocketbox(['-f', file]);
  children.push(json);
  t.equal(await json.wait(), 1, 'daemon.uid alone: exit 1');
  t.match(json.stderr, new RegExp(`orphan\\.json:4:20: daemon\\.uid: uid ${uid} has no passwd entry.*"gid" in daemon`));
  t.notOk(isListening(port), 'never listened');
  t.notOk(fs.existsSync(socket), 'no registration socket was created');

  // With a group it runs as asked.
  const given = startSocketbox(['-u', String(uid), '-g', '65534', '-S', '@orphan', '-l', '::', '-p', String(++port)]);
  children.push(given);
  await waitForListening(port);
  t.equal(statusField(given.pid, 'Uid'), `${uid}\t${uid}\t${uid}\t${uid}`);
  t.equal(statusField(given.pid, 'Gid'), '65534\t65534\t65534\t65534');
});
