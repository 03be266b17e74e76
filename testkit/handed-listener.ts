// A program started with a listening TCP socket as its descriptor 3, the way a supervisor
// (systemd, socketbox -e) hands one over.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

export interface ListenerSpec {
  host: string;
  port: number;
  /** Default true: an IPv4 server may use the same port. */
  ipv6Only?: boolean;
}

/** Spawns file ARGS with a listener made here on descriptor 3; this process closes its own copy once the child has it. */
export async function spawnWithListener(file: string, args: readonly string[], listen: ListenerSpec, stderr: 'pipe' | 'ignore'): Promise<ChildProcess> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port, ipv6Only: listen.ipv6Only ?? true, backlog: 4096 }, resolve);
  });
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', stderr, fd] });
  // The child has its own copy now; this process must not accept on it.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return child;
}
