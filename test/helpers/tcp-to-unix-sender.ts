// A stand-in for `socketbox -S PATH`: accepts TCP connections on loopback and sends each
// accepted socket (the kernel socket itself) to the datagram socket at PATH, in the wire format of
// docs/wire-protocol.md, then closes its own copy. When the receiver's queue is full it waits and
// retries, so no connection is lost.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { loadClientAddon } from '../../src/clients/load-client-addon';

export interface TcpToUnixSender {
  /** The loopback TCP port connections are accepted on. */
  port: number;
  host: string;
  /** Connections handed over so far, and those the receiver could not take. */
  stats: { sent: number; failed: number };
  close(): Promise<void>;
}

/** Node owns the accepted socket; its descriptor is what we pass on. */
function descriptorOf(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('accepted socket has no descriptor');
  return fd;
}

export async function startTcpToUnixSender(socketPath: string, host = '::1', port = 0): Promise<TcpToUnixSender> {
  const addon = loadClientAddon();
  const sender = addon.openDatagramSocket();
  const waiting: net.Socket[] = [];
  const stats = { sent: 0, failed: 0 };
  let retry: NodeJS.Timeout | undefined;

  const pump = (): void => {
    retry = undefined;
    while (waiting.length > 0) {
      const connection = waiting[0];
      try {
        if (!addon.sendFds(sender, [descriptorOf(connection)], socketPath, false)) {
          retry = setTimeout(pump, 1); // receiver's queue is full: try again shortly
          return;
        }
        stats.sent++;
      } catch {
        stats.failed++;
      }
      waiting.shift();
      connection.destroy();
    }
  };

  // pauseOnConnect: Node must never read from a connection it is about to give away.
  const server = net.createServer({ pauseOnConnect: true }, (connection) => {
    waiting.push(connection);
    if (!retry) pump();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    host,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        if (retry) clearTimeout(retry);
        for (const connection of waiting.splice(0)) connection.destroy();
        server.close(() => {
          fs.closeSync(sender);
          resolve();
        });
      }),
  };
}
