import * as net from 'node:net';

export interface LoadResult {
  /** Connections whose receiver answered "ok NAME". */
  delivered: number;
  /** Connections closed or reset without an answer. */
  refused: number;
  /** How many answers each receiver name gave. */
  byReceiver: Map<string, number>;
}

export interface LoadOptions {
  /** Server addresses, used in turn (more 4-tuples for many short connections). */
  hosts: string[];
  port: number;
  connections: number;
  inFlight: number;
  /** Called after each finished connection, e.g. to signal the server mid-run. */
  onProgress?: (done: number) => void;
  /** Per-connection limit; a connection taking longer counts as refused. */
  timeoutMs?: number;
  /** The clients' source address (a local one, or any with ip_nonlocal_bind); the kernel's choice by default. */
  localAddress?: string;
}

/**
 * Drives `connections` connections with at most `inFlight` open at a time.
 * Each sends its sequence number and waits for the receiver's "ok NAME" line
 * (see fd_tool.py drain). Bounded: every connection ends by the timeout.
 */
export function runLoad(o: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { delivered: 0, refused: 0, byReceiver: new Map() };
  let started = 0;
  let finished = 0;
  return new Promise((resolve) => {
    const launch = (): void => {
      if (started >= o.connections) return;
      const seq = started++;
      const sock = net.connect({ host: o.hosts[seq % o.hosts.length], port: o.port, localAddress: o.localAddress });
      let answer = '';
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        const m = /^ok (\S+)\n/.exec(answer);
        if (m) {
          result.delivered++;
          result.byReceiver.set(m[1], (result.byReceiver.get(m[1]) ?? 0) + 1);
        } else {
          result.refused++;
        }
        finished++;
        o.onProgress?.(finished);
        if (finished === o.connections) resolve(result);
        else launch();
      };
      const timer = setTimeout(finish, o.timeoutMs ?? 20_000);
      sock.on('connect', () => sock.write(`${seq}\n`));
      sock.on('data', (d) => {
        answer += d.toString();
        if (answer.includes('\n')) finish();
      });
      sock.on('error', finish);
      sock.on('close', finish);
    };
    for (let i = 0; i < Math.min(o.inFlight, o.connections); i++) launch();
  });
}
