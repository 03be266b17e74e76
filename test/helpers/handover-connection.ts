// A loopback TCP connection whose server-side descriptor a test sends somewhere by hand (as
// socketbox would), keeping the client side to talk through it.
import * as net from 'node:net';

export interface HandoverConnection {
  /** The accepted (server-side) socket's descriptor, to be sent. */
  fd: number;
  /** The client's own address, to compare with what the other side reports. */
  clientPort: number;
  serverPort: number;
  /** Closes the test's copy of the server side (after sending it). */
  release(): void;
  /** Writes input, half-closes, resolves with all output once the other side closes. */
  talk(input?: string, timeoutMs?: number): Promise<string>;
}

export async function handoverConnection(host = '::1'): Promise<HandoverConnection> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, host);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const serverSide = await accepted;
  server.close();
  const fd = (serverSide as unknown as { _handle: { fd: number } })._handle.fd;
  const chunks: Buffer[] = [];
  client.on('data', (chunk) => chunks.push(chunk));
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));

  return {
    fd,
    clientPort: client.localPort!,
    serverPort: serverSide.localPort!,
    release: () => serverSide.destroy(),
    talk: (input = '', timeoutMs = 20_000) => {
      client.end(input);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          client.destroy();
          reject(new Error(`connection not closed within ${timeoutMs} ms`));
        }, timeoutMs);
        void closed.then(() => {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString());
        });
      });
    },
  };
}
