// socketbox-relay's idle timeout (--idle-timeout): a connection that moves no byte either
// way for that long is closed, counted and logged, so silent clients cannot hold every
// place under -m; a connection whose bytes keep flowing, in either direction, lives on.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import * as net from 'node:net';
import { sleep, waitFor } from '../testkit/wait';
import { heldTcpConnections } from '../testkit/proc-tcp';
import { startEchoBackend } from './helpers/relay-backends';
import { connectTo, readEnd, relayExchange } from './helpers/relay-client';
import { startFrontAndRelay, type RunningProgram } from './helpers/relay-process';
import { tempDir } from '../testkit/temp-dir';

const FRONT_PORT = 8080;
const BACKEND_PORT = 9000;
const FRONT = '2001:db8::1';
const IDLE_MS = 300;
const IDLE_LINE = new RegExp(`no byte either way for ${IDLE_MS} ms: closed \\(idle closes: (\\d+)\\)`, 'g');

async function relayWith(t: Test, args: string[]): Promise<RunningProgram> {
  const tmp = tempDir();
  const { relay, stop } = await startFrontAndRelay(tmp.dir, FRONT_PORT, ['-q', '--idle-timeout', `${IDLE_MS}ms`, '-p', String(BACKEND_PORT), ...args]);
  t.teardown(async () => {
    await stop();
    tmp.remove();
  });
  return relay;
}

/** The running counts of the idle lines logged so far. */
function idleCloses(relay: RunningProgram): number[] {
  return [...relay.stderr().matchAll(IDLE_LINE)].map((m) => Number(m[1]));
}

t.test('-m 4: three silent clients are closed after the idle timeout, a talking one goes on, a waiting one is then served', async (t) => {
  const backend = await startEchoBackend('::1', BACKEND_PORT);
  t.teardown(backend.close);
  const relay = await relayWith(t, ['-m', '4']);

  // The talking client: a numbered chunk every 30 ms for six idle timeouts, each echoed.
  const talker = await connectTo(FRONT, FRONT_PORT);
  let echoed = '';
  let talkerEnded = false;
  let talkerError = '';
  talker.on('data', (c: Buffer) => (echoed += c.toString()));
  talker.on('end', () => (talkerEnded = true));
  talker.on('error', (e) => (talkerError = e.message));
  const chunks = Array.from({ length: (6 * IDLE_MS) / 30 }, (_, i) => `${i};`);
  const talking = (async () => {
    for (const chunk of chunks) {
      talker.write(chunk);
      await sleep(30);
    }
  })();
  await waitFor('the first echo', () => echoed.length > 0);

  const connectStarted = Date.now();
  const silent = await Promise.all([1, 2, 3].map(() => connectTo(FRONT, FRONT_PORT)));
  const closedAt: number[] = [];
  for (const s of silent) {
    s.on('end', () => closedAt.push(Date.now()));
    s.on('error', () => {}); // a reset when a failed test stops the relay under them
  }
  await waitFor('the relay to hold 4 clients and their 4 backend connections', () => heldTcpConnections(relay.pid) === 8);

  // A fifth client has no place: it waits in the relay's queue until an idle one is closed.
  const fifth = relayExchange({ host: FRONT, port: FRONT_PORT, input: 'my turn', timeoutMs: 10_000 });
  fifth.catch(() => {}); // awaited below; a failure before that must not end the process

  await waitFor('the three silent clients to be closed', () => closedAt.length === 3, 5000);
  const earliest = Math.min(...closedAt) - connectStarted;
  t.ok(earliest >= IDLE_MS - 10, `not before the idle timeout (the first after ${earliest} ms)`);
  t.equal((await fifth).output.toString(), 'my turn', 'the waiting client was taken in and served');
  t.same(idleCloses(relay), [1, 2, 3], 'each idle close logged, with the running count');

  await talking;
  t.notOk(talkerEnded || talkerError, `the talking client was never closed (it talked for ${6 * IDLE_MS} ms)`);
  talker.end();
  await readEnd(talker);
  t.equal(echoed, chunks.join(''), 'every chunk it sent came back');
  t.same(idleCloses(relay), [1, 2, 3], 'no other idle close');
  for (const s of [talker, ...silent]) s.destroy();
});

t.test('bytes one way only keep a connection open; once they stop it is closed', async (t) => {
  // The backend ticks every 30 ms for six idle timeouts, then falls silent; the client never sends.
  const ticksToSend = (6 * IDLE_MS) / 30;
  let stoppedTicking = 0;
  const ticker = net.createServer((s) => {
    s.on('error', () => {});
    let sent = 0;
    const timer = setInterval(() => {
      s.write('tick\n');
      if (++sent === ticksToSend) {
        clearInterval(timer);
        stoppedTicking = Date.now();
      }
    }, 30);
    s.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => ticker.listen({ host: '::1', port: BACKEND_PORT }, resolve));
  t.teardown(() => {
    ticker.close();
  });
  const relay = await relayWith(t, []);

  const client = await connectTo(FRONT, FRONT_PORT);
  let ticks = 0;
  let endedAt = 0;
  client.on('data', (c: Buffer) => (ticks += c.toString().split('tick').length - 1));
  client.on('end', () => (endedAt = Date.now()));
  client.on('error', () => {}); // a reset when a failed test stops the relay under it
  await waitFor('the last tick', () => ticks === ticksToSend, 10_000);
  t.equal(endedAt, 0, 'open while the backend talked, though the client said nothing');
  await waitFor('the close once the ticks stopped', () => endedAt > 0, 5000);
  t.ok(endedAt - stoppedTicking >= IDLE_MS - 10, `closed an idle timeout after the last tick (${endedAt - stoppedTicking} ms)`);
  t.same(idleCloses(relay), [1], 'one idle close, logged');
  client.destroy();
});
