import * as net from 'node:net';

export interface ClientResult {
  /** The receiver's first line ("NAME local=… remote=…"), or null when the connection was closed without data. */
  greeting: string | null;
  /** The receiver's answer to our line, proving data flows both ways. */
  echo: string | null;
  /** True when the server reset the connection. */
  reset: boolean;
}

/**
 * Connects, reads the receiver's greeting, sends a line and reads the echo.
 * A refused connection (closed or reset by socketbox) resolves with greeting null.
 */
export function talk(host: string, port: number, opts: { localAddress?: string; localPort?: number; line?: string } = {}): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, localAddress: opts.localAddress, localPort: opts.localPort });
    let data = '';
    let sent = false;
    let reset = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from [${host}]:${port} within 10 s; got '${data}'`));
    }, 10_000);
    sock.on('data', (d) => {
      data += d.toString();
      if (!sent && data.includes('\n')) {
        sent = true;
        sock.write(`${opts.line ?? 'ping'}\n`);
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') reset = true;
      else {
        clearTimeout(timer);
        reject(err);
      }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      const lines = data.split('\n').filter((l) => l !== '');
      resolve({ greeting: lines[0] ?? null, echo: lines[1] ?? null, reset });
    });
  });
}
