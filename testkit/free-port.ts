// A TCP port nobody listens on right now, for programs that need a fixed one up front.
import * as net from 'node:net';

export function freePort(host = '::1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
