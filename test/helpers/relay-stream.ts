// Large, checkable byte streams: AES-CTR keystream (unique at every offset, fast), written
// with backpressure and hashed as it goes.
import * as crypto from 'node:crypto';
import type * as net from 'node:net';

const CHUNK = 1 << 20;

/** A deterministic pseudo-random byte source; seed picks the stream. */
export function keystream(seed: string): () => Buffer {
  const key = crypto.createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK);
  return () => cipher.update(zeros);
}

/** Writes total bytes of the seed's stream, then ends (half-closes) the socket; resolves to their sha256. */
export async function sendStream(socket: net.Socket, seed: string, total: number): Promise<string> {
  const next = keystream(seed);
  const hash = crypto.createHash('sha256');
  for (let sent = 0; sent < total; ) {
    let chunk = next();
    if (chunk.length > total - sent) chunk = chunk.subarray(0, total - sent);
    hash.update(chunk);
    sent += chunk.length;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await new Promise<void>((resolve) => socket.end(resolve));
  return hash.digest('hex');
}

/** Hashes everything the socket reads until its end: { bytes, sha256 }. */
export function receiveStream(socket: net.Socket): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    socket.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    socket.once('error', reject);
  });
}
