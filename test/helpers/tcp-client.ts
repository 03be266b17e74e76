// One client connection: send input (then half-close), collect everything the server writes
// until it closes. Also reports the client's own addresses, to compare with what the server
// side saw.
import * as net from 'node:net';

export interface Exchange {
  output: string;
  localAddress: string;
  localPort: number;
}

export function exchange(port: number, input = '', host = '::1', timeoutMs = 20_000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    const chunks: Buffer[] = [];
    let localAddress = '';
    let localPort = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of output from port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => {
      localAddress = socket.localAddress ?? '';
      localPort = socket.localPort ?? 0;
      socket.end(input);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ output: Buffer.concat(chunks).toString(), localAddress, localPort });
    });
  });
}
