// libsocketbox-preload fails closed: when a bind matches its filters (a magic address, or a
// wildcard in SKBOX_PORT_FILTER_*_WILDCARD) but the directory variable it needs is unset,
// empty or too long, the bind fails with EADDRNOTAVAIL and one line on stderr; it never
// becomes a real bind on the address. Checked with an unmodified daemon (Python's
// http.server) under bin/run-with-socketbox and the kernel's TCP tables: nothing listens.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import { waitFor } from '../testkit/wait';
import { isListening } from '../testkit/proc-tcp';
import { Daemon } from './helpers/preload-fixtures';
import { runWithSocketbox, withoutSkboxSettings } from './helpers/preload-probe';

const PORT = 8081;

/** Runs python3 -m http.server --bind ADDRESS PORT under the library until it exits or listens. */
async function runHttpServer(t: Test, address: string, port: number, env: Record<string, string>): Promise<Daemon> {
  const daemon = Daemon.start(
    [runWithSocketbox, 'python3', '-u', '-m', 'http.server', '--bind', address, String(port)],
    { ...withoutSkboxSettings(process.env), ...env },
  );
  t.teardown(() => daemon.stop());
  await waitFor(`python to exit or to listen on ${port}`, () => daemon.child.exitCode !== null || isListening(port), 15_000);
  return daemon;
}

function preloadLines(daemon: Daemon): string[] {
  return daemon.stderr.split('\n').filter((line) => line.startsWith('libsocketbox-preload:'));
}

const unusableRoots: Array<[string, Record<string, string>, string]> = [
  ['unset', {}, 'not set'],
  ['empty', { SKBOX_DIRECTORY_ROOT: '' }, 'empty'],
  ['too long', { SKBOX_DIRECTORY_ROOT: `/${'d'.repeat(5000)}` }, 'longer than 4064 bytes'],
];

for (const [what, env, problem] of unusableRoots) {
  t.test(`a wildcard bind in the filter with SKBOX_DIRECTORY_ROOT ${what}: nothing listens`, async (t) => {
    // [::]:8081 is below the wildcard filter 8082: the library must take it, not the kernel.
    const python = await runHttpServer(t, '::', PORT, { ...env, SKBOX_PORT_FILTER_IPV6_WILDCARD: String(PORT + 1) });
    t.notOk(isListening(PORT), `nothing listens on port ${PORT}`);
    await waitFor('python to exit', () => python.child.exitCode !== null, 15_000);
    t.not(python.child.exitCode, 0, 'the daemon could not bind and exited with an error');
    t.match(python.stderr, /\[Errno 99\] Cannot assign requested address/, 'the daemon got EADDRNOTAVAIL');
    t.same(preloadLines(python), [
      `libsocketbox-preload: bind to [::]:${PORT} refused: SKBOX_DIRECTORY_ROOT: ${problem} (Cannot assign requested address)`,
    ], 'one line from the library says why');
  });
}

t.test('a bind to 127.180.1.0:80 with SKBOX_DIRECTORY_ROOT unset: nothing listens', async (t) => {
  const python = await runHttpServer(t, '127.180.1.0', 80, {});
  t.notOk(isListening(80), 'nothing listens on port 80');
  await waitFor('python to exit', () => python.child.exitCode !== null, 15_000);
  t.not(python.child.exitCode, 0, 'the daemon could not bind and exited with an error');
  t.same(preloadLines(python), [
    'libsocketbox-preload: bind to 127.180.1.0:80 refused: SKBOX_DIRECTORY_ROOT: not set (Cannot assign requested address)',
  ]);
});
