// Test clients for the relay: whole exchanges with optional source address, and raw
// connections for tests that steer each step.
import * as net from 'node:net';

export interface RelayExchange {
  output: Buffer;
  /** The connection ended with a reset (only when allowReset). */
  reset: boolean;
  localAddress: string;
  localPort: number;
}

export interface ExchangeOptions {
  host: string;
  port: number;
  input?: Buffer | string;
  /** Source address to bind (must be local, e.g. fd00:1::5 in the test namespace). */
  localAddress?: string;
  /** Source port to bind (default: any). */
  localPort?: number;
  timeoutMs?: number;
  /** A reset ends the exchange like a close (a relay resets clients whose bytes it could not deliver). */
  allowReset?: boolean;
}

/** Connects, sends input, half-closes, and reads until the other side closes. */
export function relayExchange(o: ExchangeOptions): Promise<RelayExchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress, localPort: o.localPort, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let localAddress = '';
    let localPort = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of output from [${o.host}]:${o.port} within ${o.timeoutMs ?? 20_000} ms`));
    }, o.timeoutMs ?? 20_000);
    socket.on('connect', () => {
      localAddress = socket.localAddress ?? '';
      localPort = socket.localPort ?? 0;
      socket.end(o.input ?? '');
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    let reset = false;
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (o.allowReset && error.code === 'ECONNRESET') {
        reset = true;
        return; // 'close' follows
      }
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ output: Buffer.concat(chunks), reset, localAddress, localPort });
    });
  });
}

/** An open connection (half-open allowed), once connected. */
export function connectTo(host: string, port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with the next bytes a socket reads. */
export function nextData(socket: net.Socket, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no data in time')), timeoutMs);
    socket.once('data', (chunk) => {
      clearTimeout(timer);
      resolve(chunk);
    });
  });
}

/** Resolves once the socket has read its end (the other side shut down writing). */
export function readEnd(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readableEnded) resolve();
    else socket.once('end', () => resolve());
  });
}
