// socketbox-inetd and socketbox-inetd-p run at most --max-children programs at once (default
// 64). Connections beyond the limit wait in the receiving socket's kernel queue and then in
// socketbox's own bounded waiting; none is dropped. Each test holds every connection open in
// its program (the program answers only once its client sends a line), samples the number of
// children of the inetd throughout, then releases the clients and checks that each was served.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { sleep, waitFor } from '../testkit/wait';
import { childrenOf } from '../testkit/proc-stat';
import { waitForListening } from '../testkit/proc-tcp';
import { Child, stopAll } from '../testkit/child';
import { startSocketbox } from '../testkit/socketbox';
import { startInetd } from './helpers/inetd-process';
import { binPath } from '../testkit/project-root';
import { tempDir } from '../testkit/temp-dir';
import { scrape, startJsonServer, waitForRegistered } from './helpers/registration';

/** Answers once the client has sent its line: until then the program holds its slot. */
const HOLDING_PROGRAM = ['sh', '-c', 'read line; echo "served $line"'];

/** A client whose connection is held until release() sends its line. */
interface HeldClient {
  release(): void;
  /** Everything the program wrote, once the connection has closed. */
  answer: Promise<string>;
  /** Bytes received so far (nothing may come before release). */
  received(): string;
}

function holdClient(port: number, index: number): HeldClient {
  const socket = net.connect({ host: '::1', port });
  let data = '';
  socket.on('data', (chunk) => (data += chunk.toString()));
  const answer = new Promise<string>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => resolve(data));
  });
  return { release: () => socket.end(`${index}\n`), answer, received: () => data };
}

/** Samples how many children pid has, every 20 ms, until stopped. */
function sampleChildren(pid: number): { max: () => number; samples: () => number; stop: () => void } {
  let max = 0;
  let samples = 0;
  const timer = setInterval(() => {
    max = Math.max(max, childrenOf(pid).length);
    samples++;
  }, 20);
  return { max: () => max, samples: () => samples, stop: () => clearInterval(timer) };
}

/** The sum of every sample of a metric, whatever its labels. */
async function metricTotal(metricsPort: number, name: string): Promise<number> {
  let total = 0;
  for (const [key, value] of await scrape(metricsPort)) if (key === name || key.startsWith(`${name}{`)) total += value;
  return total;
}

async function waitForTotal(metricsPort: number, name: string, want: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let total = await metricTotal(metricsPort, name);
  while (total !== want) {
    if (Date.now() > deadline) throw new Error(`${name} is ${total}, expected ${want}`);
    await sleep(50);
    total = await metricTotal(metricsPort, name);
  }
}

/**
 * Opens count held connections to port, checks that at most limit programs ever run while
 * they are held and released, and that every client gets its own answer.
 */
async function holdAndRelease(t: Test, port: number, inetdPid: number, count: number, limit: number, whileHeld: () => Promise<void>): Promise<void> {
  const sampler = sampleChildren(inetdPid);
  t.teardown(sampler.stop);
  const clients = Array.from({ length: count }, (_, i) => holdClient(port, i));
  await waitFor(`${limit} programs to run`, () => childrenOf(inetdPid).length >= limit, 30_000);
  await whileHeld();
  await sleep(300); // a little longer at the limit: nothing more may start
  t.equal(childrenOf(inetdPid).length, limit, `exactly ${limit} programs run while every connection is held`);
  t.equal(clients.filter((c) => c.received() !== '').length, 0, 'no client got an answer before it was released');
  for (const client of clients) client.release();
  const answers = await Promise.all(clients.map((c) => c.answer));
  sampler.stop();
  t.same(answers, Array.from({ length: count }, (_, i) => `served ${i}\n`), `all ${count} clients were served, each by its own program`);
  t.ok(sampler.max() <= limit, `never more than ${limit} programs at once (max ${sampler.max()} over ${sampler.samples()} samples)`);
  t.comment(`${count} connections, --max-children ${limit}: at most ${sampler.max()} children seen in ${sampler.samples()} samples`);
  await waitFor('every program to be reaped', () => childrenOf(inetdPid).length === 0, 20_000);
}

t.test('socketbox → socketbox-inetd: 200 held connections, at most 64 programs (the default), all served', async (t) => {
  const PORT = 8601;
  const METRICS = 8602;
  const tmp = tempDir();
  const socketPath = path.join(tmp.dir, 'inetd.sock');
  const inetd = await startInetd(socketPath, HOLDING_PROGRAM);
  // The 136 connections past the limit wait in socketbox until programs exit: its
  // --dispatch-timeout must outlast the hold, or they would be refused as `timeout`.
  const server = startSocketbox(['-S', socketPath, '-l', '::1', '-p', String(PORT), '--dispatch-timeout', '60s', '--metrics', String(METRICS)]);
  t.teardown(async () => {
    await stopAll([server]);
    await inetd.stop();
    tmp.remove();
  });
  await waitForListening(PORT, 20_000);

  await holdAndRelease(t, PORT, inetd.pid, 200, 64, async () => {
    await waitForTotal(METRICS, 'socketbox_connections_accepted_total', 200);
    const pending = await metricTotal(METRICS, 'socketbox_connections_pending');
    t.ok(pending > 0, `socketbox holds the connections the inetd's queue cannot take (${pending} pending)`);
  });

  t.equal(await metricTotal(METRICS, 'socketbox_connections_delivered_total'), 200, 'socketbox counts 200 delivered');
  t.equal(await metricTotal(METRICS, 'socketbox_connections_refused_total'), 0, 'and none refused');
  t.match(inetd.stderr(), /64 programs running \(--max-children\): further connections wait/, 'the inetd says once that it reached the limit');
});

t.test('socketbox-inetd-p --max-children 3 behind a JSON server: 12 held connections, all served', async (t) => {
  const PORT = 8611;
  const METRICS = 8612;
  const tmp = tempDir();
  fs.chmodSync(tmp.dir, 0o755);
  const api = path.join(tmp.dir, 'api.sock');
  const config = {
    'socketbox-version': 1,
    incoming: [{ address: '::1', port: PORT }],
    paths: [{ socket: api, mode: '0600' }],
    outgoing: [{ uid: 0, path_nr: 0 }],
    rules: { _start: { type: 'rule', rules: [{ l_port: PORT, jump: 'o:0' }] } },
  };
  const children: Child[] = [];
  t.teardown(async () => {
    await stopAll(children);
    tmp.remove();
  });
  const server = startJsonServer(path.join(tmp.dir, 'server.json'), config, METRICS, ['--dispatch-timeout', '60s']);
  children.push(server);
  await waitForListening(PORT, 20_000);
  const receiver = new Child(spawn(binPath('socketbox-inetd-p'), ['--max-children', '3', api, '0', ...HOLDING_PROGRAM], { stdio: ['ignore', 'pipe', 'pipe'] }));
  children.push(receiver);
  await waitForRegistered(METRICS, 1).catch((error) => {
    throw new Error(`${(error as Error).message}; socketbox-inetd-p said: ${receiver.stderr}`);
  });

  await holdAndRelease(t, PORT, receiver.pid, 12, 3, async () => {
    await waitForTotal(METRICS, 'socketbox_connections_accepted_total', 12);
  });
  t.equal(await metricTotal(METRICS, 'socketbox_connections_delivered_total'), 12, 'socketbox counts 12 delivered');
  t.equal(await metricTotal(METRICS, 'socketbox_connections_refused_total'), 0, 'and none refused');
});
