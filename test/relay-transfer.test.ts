// Bytes through socketbox -> socketbox-relay -> a backend: 100 MB each way at once with
// equal checksums on both sides, and half-close travelling in each direction.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import * as net from 'node:net';
import { connectTo, nextData, readEnd } from './helpers/relay-client';
import { startFrontAndRelay } from './helpers/relay-process';
import { tempDir } from '../testkit/temp-dir';
import { receiveStream, sendStream } from './helpers/relay-stream';

const FRONT_PORT = 8080;
const BACKEND_PORT = 9000;
const SIZE = 100 << 20;

/** A backend whose connections are handed to onConnection; closed at teardown. */
async function backend(t: Test, onConnection: (s: net.Socket) => void): Promise<void> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen({ host: '::1', port: BACKEND_PORT }, resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
}

async function relayInFront(t: Test): Promise<void> {
  const tmp = tempDir();
  const { stop } = await startFrontAndRelay(tmp.dir, FRONT_PORT, ['-q', '-p', String(BACKEND_PORT)]);
  t.teardown(async () => {
    await stop();
    tmp.remove();
  });
}

t.test('100 MB each way at the same time: both sides see exactly what was sent', async (t) => {
  let backendResult: Promise<[string, { bytes: number; sha256: string }]> | undefined;
  await backend(t, (s) => {
    backendResult = Promise.all([sendStream(s, 'from the backend', SIZE), receiveStream(s)]);
  });
  await relayInFront(t);

  const client = await connectTo('2001:db8::1', FRONT_PORT);
  const started = Date.now();
  const [clientSent, clientGot] = await Promise.all([sendStream(client, 'from the client', SIZE), receiveStream(client)]);
  const [backendSent, backendGot] = await backendResult!;
  client.destroy();
  t.equal(clientGot.bytes, SIZE, 'the client got 100 MB');
  t.equal(clientGot.sha256, backendSent, 'and they are what the backend sent');
  t.equal(backendGot.bytes, SIZE, 'the backend got 100 MB');
  t.equal(backendGot.sha256, clientSent, 'and they are what the client sent');
  t.comment(`200 MB relayed in ${Date.now() - started} ms`);
});

t.test('half-close from the client: the backend sees the end, and its reply still arrives', async (t) => {
  await backend(t, (s) => {
    let request = '';
    s.on('data', (c: Buffer) => (request += c.toString()));
    s.on('end', () => setTimeout(() => s.end(`reply to "${request}" after the end`), 100));
  });
  await relayInFront(t);

  const client = await connectTo('2001:db8::1', FRONT_PORT);
  const reply = receiveStream(client);
  let text = '';
  client.on('data', (c: Buffer) => (text += c.toString()));
  client.end('question');
  await reply;
  t.equal(text, 'reply to "question" after the end');
  client.destroy();
});

t.test('half-close from the backend: the client sees the end, and can still send', async (t) => {
  let lateBytes = '';
  const backendDone = new Promise<void>((resolve) => {
    void backend(t, (s) => {
      s.end('banner, then no more from me');
      s.on('data', (c: Buffer) => (lateBytes += c.toString()));
      s.on('end', () => resolve());
    });
  });
  await relayInFront(t);

  const client = await connectTo('2001:db8::1', FRONT_PORT);
  let banner = '';
  client.on('data', (c: Buffer) => (banner += c.toString()));
  await readEnd(client);
  t.equal(banner, 'banner, then no more from me', 'banner and end arrive');
  await new Promise((resolve) => setTimeout(resolve, 100));
  client.end('sent after the backend finished writing');
  await backendDone;
  t.equal(lateBytes, 'sent after the backend finished writing', 'the backend still reads');
  client.destroy();
});

t.test('a client reset resets the backend connection', async (t) => {
  const backendSaw = new Promise<string>((resolve) => {
    void backend(t, (s) => {
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      s.on('end', () => resolve('end'));
    });
  });
  await relayInFront(t);
  const client = await connectTo('2001:db8::1', FRONT_PORT);
  client.write('hello');
  await new Promise((resolve) => setTimeout(resolve, 200));
  client.resetAndDestroy();
  t.equal(await backendSaw, 'ECONNRESET');
});

t.test('small messages go both ways without waiting for more (ping-pong)', async (t) => {
  await backend(t, (s) => s.on('data', (c: Buffer) => s.write(`pong ${c.toString()}`)));
  await relayInFront(t);
  const client = await connectTo('2001:db8::1', FRONT_PORT);
  for (let i = 0; i < 20; i++) {
    client.write(`${i}`);
    t.equal((await nextData(client)).toString(), `pong ${i}`);
  }
  client.destroy();
});
