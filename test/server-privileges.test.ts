/**
 * The privilege sequence of docs/startup.md, read back from /proc: after -u/-g/-G/-x
 * the serving process has the new identity, no capabilities, NoNewPrivs set
 * and the chroot as its root, and still routes connections (target paths
 * resolve inside the chroot). A failing step exits before anything is served.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { enterTestNetns } from './helpers/netns';
import { Child, startReceiver, startSocketbox, stopAll } from './helpers/processes';
import { talk } from './helpers/client';
import { isListening, waitForListening } from './helpers/wait-for';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-priv-'));
fs.chmodSync(dir, 0o755);

function statusField(pid: number, field: string): string {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return (line ?? '').slice(field.length + 1).trim();
}

/** Every thread of the process, for checks that must hold in all of them. */
function threads(pid: number): number[] {
  return fs.readdirSync(`/proc/${pid}/task`).map(Number);
}

function taskField(pid: number, tid: number, field: string): string {
  const line = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return (line ?? '').slice(field.length + 1).trim();
}

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
  for (const tid of threads(pid)) {
    t.equal(taskField(pid, tid, 'CapEff'), '0000000000000000', `thread ${tid}: no effective capability`);
    t.equal(taskField(pid, tid, 'CapPrm'), '0000000000000000', `thread ${tid}: no permitted capability`);
    t.equal(taskField(pid, tid, 'Uid'), '65534\t65534\t65534\t65534', `thread ${tid}: runs as the new uid`);
    t.equal(taskField(pid, tid, 'NoNewPrivs'), '1', `thread ${tid}: NoNewPrivs`);
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
