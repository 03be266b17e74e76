// The fast-path rows (docs/fast-path.md): socketbox with a JSON config that routes every
// connection to slot 0, and the floor server's accept loop registered for slot 0 in listener
// mode (floor_server -R), so the kernel queues connections on its socket and neither side
// passes a descriptor per connection. The "-netns" row runs the receiver in a network namespace
// of its own (unshare -n), as a container would: it reaches socketbox only through the
// registration socket. Needs root (or CAP_BPF and CAP_NET_ADMIN) for the BPF program.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isListening } from '../../testkit/proc-tcp';
import { freePort } from '../../testkit/free-port';
import { startProgram, waitUntilReady } from './child-process';
import { onCpus } from './cpu-placement';
import type { RunningServer, ServerCounts, ServerSetup } from './servers';

/** socketbox's books from /metrics: the loops' and the program's accepted, and delivered. */
async function scrapeBooks(metricsPort: number): Promise<{ loops: number; fastPath: number; delivered: number; refused: number }> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const sum = (pattern: RegExp) => text.split('\n').filter((l) => pattern.test(l)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  return {
    loops: sum(/^socketbox_connections_accepted_total\{worker="\d+"\}/),
    fastPath: sum(/^socketbox_connections_accepted_total\{worker="fastpath"\}/),
    delivered: sum(/^socketbox_connections_delivered_total\{/),
    refused: sum(/^socketbox_connections_refused_total\{/),
  };
}

export async function startFastPath(setup: ServerSetup, kind: 'socketbox-fastpath' | 'socketbox-fastpath-netns'): Promise<RunningServer> {
  const port = await freePort();
  const metricsPort = await freePort();
  const api = path.join(setup.scratchDir, `${kind}.api`);
  const config = path.join(setup.scratchDir, `${kind}.json`);
  fs.writeFileSync(
    config,
    JSON.stringify({
      'socketbox-version': 1,
      incoming: [{ address: '::1', port }],
      paths: [{ socket: api }],
      outgoing: [{ uid: process.getuid?.() ?? 0, path_nr: 0 }],
      rules: { _start: { type: 'rule', rules: [{ jump: 'o:0' }] } },
    }),
  );
  const sb = onCpus(setup.serverCpus, setup.socketbox, ['-f', config, '--workers', '1', '--metrics', `127.0.0.1:${metricsPort}`]);
  const socketbox = startProgram(kind, sb.file, sb.args);
  await waitUntilReady(`socketbox on port ${port}`, [socketbox], () => isListening(port) && fs.existsSync(api));
  const floor = [setup.programs.floorServer, '-R', `${api}:0`];
  const rc = onCpus(setup.serverCpus, kind === 'socketbox-fastpath-netns' ? 'unshare' : floor[0], kind === 'socketbox-fastpath-netns' ? ['-n', '--', ...floor] : floor.slice(1));
  const receiver = startProgram('floor_server -R', rc.file, rc.args);
  await waitUntilReady('the listener-mode receiver to register', [socketbox, receiver], () => /registered for slot 0 in listener mode/.test(receiver.stderr()));
  if (!/fast path on/.test(socketbox.stderr())) {
    await Promise.all([receiver.stop(2_000), socketbox.stop(2_000)].map((p) => p.catch(() => undefined)));
    throw new Error(`${kind}: socketbox has no fast path (run the benchmark as root): ${socketbox.stderr().trim()}`);
  }
  return {
    kind,
    port,
    serverPid: socketbox.pid,
    receiverPid: receiver.pid,
    stderr: () => socketbox.stderr(),
    async stop(): Promise<ServerCounts> {
      const books = await scrapeBooks(metricsPort);
      // socketbox first: the receiver then sees the registration end, as after a deployment.
      await socketbox.stop().finally(() => receiver.stop());
      const got = JSON.parse(receiver.stdout().trim().split('\n').pop() ?? '{}') as { accepted: number; write_failed: number };
      return {
        accepted: books.loops + books.fastPath,
        delivered: books.delivered,
        refused: books.refused,
        refusedReasons: books.loops > 0 ? `${books.loops} through the accept loop` : null,
        received: got.accepted,
        writeFailed: got.write_failed,
      };
    },
  };
}
