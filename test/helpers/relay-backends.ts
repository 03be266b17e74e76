// Backends the relay forwards to, run inside the test process so they can report what
// they saw: an echo server and a PROXY protocol parser (v1 text and v2 binary, per the
// HAProxy specification).
import * as net from 'node:net';

export interface Backend {
  server: net.Server;
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  close: () => Promise<void>;
}

async function listen(server: net.Server, host: string, port: number): Promise<Backend> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (host.startsWith('/') || host.startsWith('\0')) server.listen(host, resolve);
    else server.listen({ host, port, ipv6Only: host.includes(':') && host !== '::' }, resolve);
  });
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : 0,
    accepted: () => count,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echoes every byte; closes its writing side when the client does. */
export function startEchoBackend(host: string, port = 0): Promise<Backend> {
  return listen(net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)), host, port);
}

export interface ProxyInfo {
  version: 1 | 2;
  command?: 'PROXY' | 'LOCAL';
  family: string;
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
}

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

function ipv6Text(bytes: Buffer): string {
  // Node prints IPv6 addresses compressed; a throwaway SocketAddress does the formatting.
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

/** Parses one header at the start of data; null when more bytes are needed. */
export function parseProxyHeader(data: Buffer): { info: ProxyInfo; length: number } | null {
  if (data.length >= 16 && data.subarray(0, 12).equals(V2_SIGNATURE)) {
    const length = 16 + data.readUInt16BE(14);
    if (data.length < length) return null;
    const command = (data[12] & 0x0f) === 1 ? 'PROXY' : 'LOCAL';
    const family = data[13];
    if (family !== 0x21) return { info: { version: 2, command, family: family.toString(16), source: '', destination: '', sourcePort: 0, destinationPort: 0 }, length };
    return {
      info: {
        version: 2,
        command,
        family: 'TCP6',
        source: ipv6Text(data.subarray(16, 32)),
        destination: ipv6Text(data.subarray(32, 48)),
        sourcePort: data.readUInt16BE(48),
        destinationPort: data.readUInt16BE(50),
      },
      length,
    };
  }
  const end = data.indexOf('\r\n');
  if (end < 0) return data.length > 107 ? { info: { version: 1, family: 'BAD', source: '', destination: '', sourcePort: 0, destinationPort: 0 }, length: data.length } : null;
  const line = data.subarray(0, end).toString('latin1');
  const m = /^PROXY (TCP6|TCP4|UNKNOWN)(?: (\S+) (\S+) (\d+) (\d+))?$/.exec(line);
  if (!m) throw new Error(`not a PROXY v1 line: ${JSON.stringify(line)}`);
  return {
    info: { version: 1, family: m[1], source: m[2] ?? '', destination: m[3] ?? '', sourcePort: Number(m[4] ?? 0), destinationPort: Number(m[5] ?? 0) },
    length: end + 2,
  };
}

/**
 * Reads the PROXY header, then replies with its fields as one JSON line, followed by the
 * raw header line (v1) and everything the client sent after the header.
 */
export function startProxyBackend(host: string, port = 0): Promise<Backend & { headers: string[] }> {
  const headers: string[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let buffered = Buffer.alloc(0);
    let parsed = false;
    s.on('data', (chunk) => {
      if (parsed) {
        s.write(chunk);
        return;
      }
      buffered = Buffer.concat([buffered, chunk]);
      const result = parseProxyHeader(buffered);
      if (!result) return;
      parsed = true;
      headers.push(buffered.subarray(0, result.length).toString('latin1'));
      s.write(JSON.stringify(result.info) + '\n');
      s.write(buffered.subarray(result.length));
    });
    s.on('end', () => s.end());
  });
  return listen(server, host, port).then((b) => Object.assign(b, { headers }));
}
