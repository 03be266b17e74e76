// A connected pair of UNIX stream sockets (Node has no socketpair()): `near` stays with the
// test, `far` is the other end, whose descriptor a test hands to the relay.
import * as net from 'node:net';

export interface UnixPair {
  near: net.Socket;
  far: net.Socket;
  farFd: number;
}

export async function unixPair(socketPath: string): Promise<UnixPair> {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const far = net.connect(socketPath);
  await new Promise((resolve) => far.once('connect', resolve));
  const near = await accepted;
  server.close();
  return { near, far, farFd: (far as unknown as { _handle: { fd: number } })._handle.fd };
}
