/**
 * Socket files are created with their final mode and owner, never changed by
 * path afterwards. An attacker who may write to the socket's directory (here
 * nobody) exchanges the socket's name with a symlink to a root-owned file
 * (renameat2 RENAME_EXCHANGE) the moment the socket file appears, while
 * socketbox-inetd or a JSON config's registration socket is created. To lose
 * no race by luck, strace holds every bind() of the server for a while after
 * it returns, so the exchange always lands between creating the file and
 * whatever comes next. The other file's mode and owner never change, and the
 * socket file (now under the decoy's name) has exactly the mode and owner
 * asked for.
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { childrenOf } from '../testkit/proc-stat';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX } from '../testkit/socketbox';
import { binPath } from '../testkit/project-root';

enterTestNetns();

const NOBODY = 65534;
const ROUNDS = 2;
/** How long strace holds each bind() after it returns: far longer than the attacker needs. */
const BIND_HOLD_US = 500_000;

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-race-'));
fs.chmodSync(base, 0o755);
t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
const victim = path.join(base, 'victim');
fs.writeFileSync(victim, 'not yours\n', { mode: 0o600 });
const attackDir = path.join(base, 'attack');
fs.mkdirSync(attackDir, { mode: 0o755 });
fs.chownSync(attackDir, NOBODY, NOBODY);

const swapper = path.join(base, 'name-swapper');
execFileSync('cc', ['-O2', '-o', swapper, path.join(__dirname, 'helpers', 'name-swapper.c')], { stdio: 'inherit' });

/** The victim as it must stay: mode 0600, owned by root. */
function victimState(): string {
  const st = fs.statSync(victim);
  return `mode ${(st.mode & 0o7777).toString(8)} uid ${st.uid} gid ${st.gid}`;
}
const VICTIM = 'mode 600 uid 0 gid 0';

/** The victim as it was, and an empty attack directory holding only the attacker's symlink to it. */
function resetRound(): void {
  fs.chmodSync(victim, 0o600);
  fs.chownSync(victim, 0, 0);
  for (const entry of fs.readdirSync(attackDir)) fs.rmSync(path.join(attackDir, entry), { force: true });
  fs.symlinkSync(victim, path.join(attackDir, 'decoy'));
  fs.lchownSync(path.join(attackDir, 'decoy'), NOBODY, NOBODY);
}

/** The attacker, as nobody: exchanges NAME and decoy once NAME exists. */
function startSwapper(name: string): Child {
  const args = ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', swapper, attackDir, name, 'decoy', '60000'];
  return new Child(spawn('setpriv', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** command under strace, each bind() held BIND_HOLD_US after it returns. */
function startHeldAtBind(command: string[]): Child {
  const strace = ['-f', '-qq', '--seccomp-bpf', '-o', '/dev/null', '-e', 'trace=bind', '-e', `inject=bind:delay_exit=${BIND_HOLD_US}`];
  return new Child(spawn('strace', [...strace, ...command], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Stops the program strace runs (then strace ends with it). */
async function stopHeld(tracer: Child): Promise<void> {
  for (const child of childrenOf(tracer.pid)) process.kill(child.pid, 'SIGTERM');
  await tracer.wait();
}

/** The socket file, whichever name it ended under. */
function socketFile(name: string): string | undefined {
  return [name, 'decoy'].map((entry) => path.join(attackDir, entry)).find((file) => fs.lstatSync(file).isSocket());
}

function socketState(name: string): string {
  const file = socketFile(name);
  if (file === undefined) return 'no socket file';
  const st = fs.lstatSync(file);
  return `mode ${(st.mode & 0o7777).toString(8)} uid ${st.uid} gid ${st.gid}`;
}

async function waitForText(child: Child, text: string, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!child.stderr.includes(text)) {
    if (child.exitCode !== null) throw new Error(`${what}: exited ${child.exitCode}: ${child.stderr}`);
    if (Date.now() > deadline) throw new Error(`${what}: timed out; stderr: ${child.stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('socketbox-inetd: the socket directory’s writer cannot redirect the socket’s mode to another file', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  for (let round = 1; round <= ROUNDS; round++) {
    resetRound();
    const attacker = startSwapper('inetd.sock');
    const inetd = startHeldAtBind([binPath('socketbox-inetd'), path.join(attackDir, 'inetd.sock'), 'cat']);
    children.push(attacker, inetd);
    t.equal(await attacker.wait(60_000), 0, `round ${round}: the attacker swapped the socket's name for the symlink`);
    // Past its set-up once it reads a message: a pipe, which it refuses and says so.
    execFileSync('python3', [path.join(__dirname, 'helpers', 'fd_flood.py'), socketFile('inetd.sock') ?? 'none', '1', '--wait', '0']);
    await waitForText(inetd, 'failed SKBOX_STRICT_STREAM_MODE validation', `round ${round}: socketbox-inetd`);
    t.equal(victimState(), VICTIM, `round ${round}: the victim's mode and owner are unchanged`);
    t.equal(socketState('inetd.sock'), 'mode 660 uid 0 gid 0', `round ${round}: the socket file is 0660, owned by its creator`);
    await stopHeld(inetd);
  }
});

t.test('JSON registration socket: neither its mode nor its owner reaches another file', async (t) => {
  const config = path.join(base, 'race.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      'socketbox-version': 1,
      incoming: [{ address: '::1', port: 0 }],
      paths: [{ socket: path.join(attackDir, 'api.sock'), mode: '0660', uid: NOBODY, gid: NOBODY }],
      outgoing: [{ uid: NOBODY, path_nr: 0 }],
      rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } },
    }),
  );
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  for (let round = 1; round <= ROUNDS; round++) {
    resetRound();
    const attacker = startSwapper('api.sock');
    const server = startHeldAtBind([SOCKETBOX, '-f', config]);
    children.push(attacker, server);
    t.equal(await attacker.wait(60_000), 0, `round ${round}: the attacker swapped the socket's name for the symlink`);
    await waitForText(server, 'listening on', `round ${round}: socketbox`);
    t.equal(victimState(), VICTIM, `round ${round}: the victim's mode and owner are unchanged`);
    t.equal(socketState('api.sock'), `mode 660 uid ${NOBODY} gid ${NOBODY}`, `round ${round}: the socket file has the configured mode and owner`);
    await stopHeld(server);
  }
});
