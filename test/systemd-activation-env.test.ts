/**
 * Reading socket activation's variables as sd_listen_fds(3) does: only when
 * LISTEN_PID is ours, descriptors from 3, names from LISTEN_FDNAMES, the
 * variables removed afterwards; and which flags are refused alongside.
 */
import t from 'tap';
import { parseServerFlags } from '../src/cli/server-flags';
import { UsageError } from '../src/cli/usage-error';
import { checkFlagsWithSystemdSockets, describeSystemdSockets, takeSystemdSockets } from '../src/server/systemd-activation';

const PID = 4242;

t.test('sockets meant for us: fds from 3 with their names; the variables are removed', async (t) => {
  const env: NodeJS.ProcessEnv = { LISTEN_PID: String(PID), LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:web', OTHER: 'kept' };
  const s = takeSystemdSockets(env, PID);
  t.same(s, { fds: [3, 4], names: ['web', 'web'] });
  t.same(env, { OTHER: 'kept' }, 'LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are gone');
  t.equal(describeSystemdSockets(s!), 'fd 3 (web), fd 4 (web)');
});

t.test('without LISTEN_FDNAMES every socket is "unknown"', async (t) => {
  t.same(takeSystemdSockets({ LISTEN_PID: String(PID), LISTEN_FDS: '1' }, PID), { fds: [3], names: ['unknown'] });
});

t.test('sockets meant for another process are not ours, and the variables still go', async (t) => {
  const env: NodeJS.ProcessEnv = { LISTEN_PID: String(PID + 1), LISTEN_FDS: '1' };
  t.equal(takeSystemdSockets(env, PID), undefined);
  t.same(env, {});
  t.equal(takeSystemdSockets({ LISTEN_FDS: '1' }, PID), undefined, 'no LISTEN_PID: nothing');
  t.equal(takeSystemdSockets({}, PID), undefined, 'nothing set: nothing');
});

t.test('malformed variables are errors, not silently ignored', async (t) => {
  t.throws(() => takeSystemdSockets({ LISTEN_PID: String(PID), LISTEN_FDS: '0' }, PID), /LISTEN_FDS='0'/);
  t.throws(() => takeSystemdSockets({ LISTEN_PID: String(PID), LISTEN_FDS: 'two' }, PID), /LISTEN_FDS='two'/);
  t.throws(() => takeSystemdSockets({ LISTEN_PID: 'me', LISTEN_FDS: '1' }, PID), /LISTEN_PID='me'/);
  t.throws(() => takeSystemdSockets({ LISTEN_PID: String(PID), LISTEN_FDS: '2', LISTEN_FDNAMES: 'a' }, PID), /LISTEN_FDNAMES names 1 socket but LISTEN_FDS=2/);
});

t.test('binding flags are refused with inherited sockets; -b is not', async (t) => {
  const two = { fds: [3, 4], names: ['a', 'b'] };
  const one = { fds: [3], names: ['a'] };
  const refused = (...args: string[]): void => checkFlagsWithSystemdSockets(parseServerFlags(args), two);
  t.throws(() => refused('-l', '::1', '-p', '81'), new UsageError('-l, -p: not allowed with sockets inherited from systemd (LISTEN_FDS=2); the socket unit sets the address and socket options (ListenStream=, Transparent=, FreeBind=, ReusePort=); only -b applies, re-setting the listen backlog'));
  for (const flag of ['-t', '-F', '-R', '-r']) t.throws(() => refused(flag), { message: new RegExp(`^${flag}: not allowed`) }, `${flag} refused`);
  t.throws(() => refused('-s', '3'), { message: /^-s: not allowed/ }, '-s refused');
  t.doesNotThrow(() => refused('-b', '17', '--workers', '2', '-f', '/etc/x.conf'), '-b, --workers, -f are fine');
  t.throws(() => checkFlagsWithSystemdSockets(parseServerFlags(['-e', 'prog']), two), /-e hands over one socket/);
  t.doesNotThrow(() => checkFlagsWithSystemdSockets(parseServerFlags(['-e', 'prog']), one), '-e with exactly one socket');
});
