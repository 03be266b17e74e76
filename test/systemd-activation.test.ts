/**
 * Socket activation end to end, in a private network namespace: socketbox
 * started by systemd-socket-activate serves the inherited socket with
 * --workers 2 (both workers share it), and with two inherited sockets each
 * worker takes one. The connection that triggered the start waited in the
 * backlog and is delivered too.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { startDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';
import { startActivated } from './helpers/socket-activate';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-activation-'));
let nextPort = 8900;
// A loaded CI machine may be slow to start socketbox while the first connections wait.
const PATIENT = ['--dispatch-timeout', '10s'];

const startDrain = (name: string): Promise<Child> => startDrainReceiver(path.join(dir, `${name}.sock`), name);

/** 2001:db8::1..f go to "low", the rest of the /64 to "high". */
function splitConfig(): string {
  const file = path.join(dir, 'split.conf');
  fs.writeFileSync(
    file,
    `max-rules:1\nrule-set:0\nsize:2\nip:2001:db8::/124 jump-unix:${dir}/low.sock\nip:2001:db8::/64 jump-unix:${dir}/high.sock\n`,
  );
  return file;
}

function perWorker(stderr: string): number[] {
  const m = /accepted per worker: ([\d, ]+)/.exec(stderr);
  return m ? m[1].split(', ').map(Number) : [];
}

t.test('one inherited socket, --workers 2: connections are routed and both workers take them', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startDrain('low'), await startDrain('high'));
  const port = nextPort++;
  const server = startActivated({ listen: [`[::]:${port}`] }, ['--workers', '2', ...PATIENT, '-f', splitConfig()]);
  children.push(server);
  await waitForListening(port); // systemd-socket-activate's socket; socketbox starts on the first connection
  const hosts = ['2001:db8::1', '2001:db8::2', '2001:db8::10', '2001:db8::ff'];
  const load = await runLoad({ hosts, port, connections: 3000, inFlight: 64, timeoutMs: 30_000 });
  t.equal(await server.stop(), 0, 'SIGTERM: exit 0');
  const summary = /stopped; .*/.exec(server.stderr)?.[0];
  t.equal(load.delivered, 3000, `every connection delivered, the triggering ones too (${summary})`);
  t.equal(load.byReceiver.get('low'), 1500, 'the /124 went to low');
  t.equal(load.byReceiver.get('high'), 1500, 'the rest of the /64 to high');
  t.match(server.stderr, 'listening on fd 3 (unknown) from systemd with 2 workers');
  const counts = perWorker(server.stderr);
  t.equal(counts.length, 2, 'two workers');
  t.ok(counts.every((n) => n > 0), `both workers accepted connections (${counts.join(', ')})`);
  t.equal(counts[0] + counts[1], 3000);
});

t.test('two inherited sockets, --workers 2: each worker takes one', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  children.push(await startDrain('low'), await startDrain('high'));
  const first = nextPort++;
  const second = nextPort++;
  const server = startActivated({ listen: [`[::]:${first}`, `[::]:${second}`], names: ['one', 'two'] }, ['--workers', '2', ...PATIENT, '-f', splitConfig()]);
  children.push(server);
  await waitForListening(first);
  await waitForListening(second);
  const viaFirst = await runLoad({ hosts: ['2001:db8::3'], port: first, connections: 700, inFlight: 32, timeoutMs: 30_000 });
  const viaSecond = await runLoad({ hosts: ['2001:db8::30'], port: second, connections: 300, inFlight: 32, timeoutMs: 30_000 });
  t.equal(viaFirst.byReceiver.get('low'), 700, 'the first socket: all delivered and routed');
  t.equal(viaSecond.byReceiver.get('high'), 300, 'the second socket: all delivered and routed');
  t.match(server.stderr, 'listening on fd 3 (one), fd 4 (two) from systemd with 2 workers', 'LISTEN_FDNAMES names them');
  t.equal(await server.stop(), 0);
  // A worker polls only its own socket, so its count is exactly that socket's connections.
  t.same(perWorker(server.stderr), [700, 300], 'worker 0 took the first socket, worker 1 the second');
});
