// PROXY protocol headers (-i: version 1 text, -2: version 2 binary) parsed by the test's
// backend carry the true client address and port and the address it dialled, and the
// client's bytes follow the header untouched. The longest headers come out whole; a
// connection whose header cannot be built in full is refused, never relayed without it.
import { addLocalAddress, enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { waitFor } from '../testkit/wait';
import { startProxyBackend, type ProxyInfo } from './helpers/relay-backends';
import { relayExchange } from './helpers/relay-client';
import { startFrontAndRelay, startRelay, startSocketbox } from './helpers/relay-process';
import { tempDir } from '../testkit/temp-dir';
import { unixPair } from './helpers/relay-unix-pair';
import { compileC } from './helpers/cc';

const FRONT_PORT = 8080;

/** The backend's reply: its JSON line of header fields, then the echoed payload. */
function splitReply(output: Buffer): { info: ProxyInfo; rest: Buffer } {
  const nl = output.indexOf('\n');
  return { info: JSON.parse(output.subarray(0, nl).toString()) as ProxyInfo, rest: output.subarray(nl + 1) };
}

async function withProxyRelay(t: Test, relayArgs: string[]): Promise<Awaited<ReturnType<typeof startProxyBackend>>> {
  const backend = await startProxyBackend('::1');
  const tmp = tempDir();
  const { stop } = await startFrontAndRelay(tmp.dir, FRONT_PORT, ['-p', String(backend.port), ...relayArgs]);
  t.teardown(async () => {
    await stop();
    await backend.close();
    tmp.remove();
  });
  return backend;
}

t.test('-i: a PROXY v1 line with the client address and port, exactly as the original wrote it', async (t) => {
  const backend = await withProxyRelay(t, ['-i']);
  const payload = crypto.randomBytes(1 << 20);
  const r = await relayExchange({ host: '2001:db8::10', port: FRONT_PORT, localAddress: 'fd00:1::5', input: payload });
  const { info, rest } = splitReply(r.output);
  t.same(info, { version: 1, family: 'TCP6', source: 'fd00:1::5', destination: '2001:db8::10', sourcePort: r.localPort, destinationPort: FRONT_PORT });
  t.equal(backend.headers[0], `PROXY TCP6 fd00:1::5 2001:db8::10 ${r.localPort} ${FRONT_PORT}\r\n`, 'byte for byte');
  t.ok(rest.equals(payload), '1 MB after the header arrives untouched');

  const v4 = await relayExchange({ host: '127.0.0.1', port: FRONT_PORT, localAddress: '127.0.0.5', input: 'x' });
  t.equal(backend.headers[1], `PROXY TCP6 ::ffff:127.0.0.5 ::ffff:127.0.0.1 ${v4.localPort} ${FRONT_PORT}\r\n`, 'IPv4 clients as IPv4-mapped');
});

t.test('-2: a PROXY v2 header with the same addresses', async (t) => {
  const backend = await withProxyRelay(t, ['-2']);
  const r = await relayExchange({ host: '2001:db8::20', port: FRONT_PORT, localAddress: 'fd00:1::6', input: 'after the header' });
  const { info, rest } = splitReply(r.output);
  t.same(info, {
    version: 2,
    command: 'PROXY',
    family: 'TCP6',
    source: 'fd00:1::6',
    destination: '2001:db8::20',
    sourcePort: r.localPort,
    destinationPort: FRONT_PORT,
  });
  t.equal(backend.headers[0].length, 52, '16 bytes of header, 36 of IPv6 addresses and ports');
  t.equal(rest.toString(), 'after the header');
});

t.test('the header also reaches a UNIX socket backend (-u)', async (t) => {
  const tmp = tempDir();
  const backendPath = path.join(tmp.dir, 'proxy-backend.sock');
  const backend = await startProxyBackend(backendPath);
  const { stop } = await startFrontAndRelay(tmp.dir, FRONT_PORT, ['-u', backendPath, '-i']);
  t.teardown(async () => {
    await stop();
    await backend.close();
    tmp.remove();
  });
  const r = await relayExchange({ host: '2001:db8::30', port: FRONT_PORT, localAddress: 'fd00:1::7', input: 'hi' });
  t.equal(backend.headers[0], `PROXY TCP6 fd00:1::7 2001:db8::30 ${r.localPort} ${FRONT_PORT}\r\n`);
  t.equal(splitReply(r.output).rest.toString(), 'hi');
});

t.test('a client that is not an IP socket: PROXY UNKNOWN (v1) and LOCAL (v2)', async (t) => {
  const addon = loadClientAddon();
  for (const [flag, expect] of [
    ['-i', (h: string) => h === 'PROXY UNKNOWN\r\n'],
    ['-2', (h: string) => h.length === 16 && h.charCodeAt(12) === 0x20 && h.charCodeAt(13) === 0],
  ] as const) {
    const tmp = tempDir();
    const backend = await startProxyBackend('::1');
    const relaySocket = path.join(tmp.dir, 'relay.sock');
    const relay = await startRelay(relaySocket, ['-p', String(backend.port), flag]);

    // A UNIX stream connection: the relay gets one end, this test talks through the other.
    const pair = await unixPair(path.join(tmp.dir, 'client.sock'));
    const sender = addon.openDatagramSocket();
    addon.sendFds(sender, [pair.farFd], relaySocket, true);
    fs.closeSync(sender);
    pair.far.destroy();

    const s = pair.near;
    let reply = '';
    s.on('data', (c: Buffer) => (reply += c.toString()));
    s.end('over unix');
    await new Promise((resolve) => s.once('end', resolve));
    t.ok(expect(backend.headers[0]), `${flag}: ${JSON.stringify(backend.headers[0])}`);
    t.match(reply, /over unix$/, 'bytes follow the header');
    t.match(relay.stderr(), /^\d+ \[::\]:0 -> \[::\]:0$/m, 'logged with unknown addresses');
    await relay.stop();
    await backend.close();
    tmp.remove();
  }
});

// Addresses with no zero group (39 characters each) and five-digit ports: the longest v1 line.
const LONGEST_CLIENT = 'fdcc:cccc:cccc:cccc:cccc:cccc:c8c8:c8c8';
const LONGEST_LOCAL = 'fddd:dddd:dddd:dddd:dddd:dddd:c8c8:c8c9';
const LONGEST_LINE = `PROXY TCP6 ${LONGEST_CLIENT} ${LONGEST_LOCAL} 65534 65535\r\n`;

/** An inet_ntop that widens IPv6 text to 45 characters or fails (test/helpers/inet-ntop-override.c). */
const inetNtopOverride = (): string => compileC('inet-ntop-override.so', ['-shared', '-fPIC', 'test/helpers/inet-ntop-override.c']);

t.test('the builder: the longest headers come out whole; a v1 line that cannot be built in full is refused (-1)', async (t) => {
  const probe = compileC('proxy-header-probe', [
    '-I', 'native', 'test/helpers/proxy-header-probe.c', 'native/relay/proxy_header.c', 'native/relay/endpoint.c', 'native/common/ip_endpoint.c',
  ]);
  const run = (mode?: string): Record<string, { result: number; bytes: Buffer }> => {
    const env = mode ? { ...process.env, LD_PRELOAD: inetNtopOverride(), INET_NTOP_OVERRIDE: mode } : process.env;
    const lines = execFileSync(probe, { env, encoding: 'utf8' }).trim().split('\n');
    return Object.fromEntries(lines.map((l) => l.split(' ')).map(([v, result, hex]) => [v, { result: Number(result), bytes: Buffer.from(hex ?? '', 'hex') }]));
  };
  const v2 = Buffer.concat([
    Buffer.from('0d0a0d0a000d0a515549540a', 'hex'),
    Buffer.from([0x21, 0x21, 0x00, 36]),
    Buffer.from(LONGEST_CLIENT.replaceAll(':', ''), 'hex'),
    Buffer.from(LONGEST_LOCAL.replaceAll(':', ''), 'hex'),
    Buffer.from([0xff, 0xfe, 0xff, 0xff]),
  ]);

  const plain = run();
  t.equal(plain.v1.bytes.toString('latin1'), LONGEST_LINE, 'v1: the whole line');
  t.equal(plain.v1.result, 104, 'v1: 104 bytes, within the 107 the protocol allows');
  t.same(plain.v2, { result: 52, bytes: v2 }, 'v2: 52 bytes');

  // 45 characters an address ("x:x:x:x:x:x:d.d.d.d") make a 116-byte line: it does not fit.
  const wide = run('wide');
  t.equal(wide.v1.result, -1, `v1 with 45-character addresses: refused (the builder returned ${wide.v1.result})`);
  t.same(wide.v2, { result: 52, bytes: v2 }, 'v2 carries bytes, not text: unchanged');
  const failed = run('fail');
  t.equal(failed.v1.result, -1, `v1 when an address cannot be written: refused (returned ${failed.v1.result}: ${JSON.stringify(failed.v1.bytes.toString('latin1'))})`);
});

t.test('-i: the longest v1 line (39-character addresses, five-digit ports) reaches the backend whole', async (t) => {
  addLocalAddress(LONGEST_CLIENT);
  addLocalAddress(LONGEST_LOCAL);
  const backend = await startProxyBackend('::1');
  const tmp = tempDir();
  const { stop } = await startFrontAndRelay(tmp.dir, 65535, ['-p', String(backend.port), '-i']);
  t.teardown(async () => {
    await stop();
    await backend.close();
    tmp.remove();
  });
  const r = await relayExchange({ host: LONGEST_LOCAL, port: 65535, localAddress: LONGEST_CLIENT, localPort: 65534, input: 'after the longest header' });
  t.equal(backend.headers[0], LONGEST_LINE, 'the 104-byte line, whole');
  t.equal(splitReply(r.output).rest.toString(), 'after the longest header', 'the bytes follow it');
});

t.test('-i: a connection whose header cannot be built in full is refused, counted and logged; others go on', async (t) => {
  // Under the widening inet_ntop, a client and a dialled address whose last bytes are all
  // 100 or more give 45-character texts: 115 bytes of line. Short ones still fit.
  addLocalAddress('fd00:1::c8c8:c8c8');
  const backend = await startProxyBackend('::1');
  const tmp = tempDir();
  const socketPath = path.join(tmp.dir, 'relay.sock');
  const relay = await startRelay(socketPath, ['-p', String(backend.port), '-i'], {
    ...process.env,
    LD_PRELOAD: inetNtopOverride(),
    INET_NTOP_OVERRIDE: 'wide',
  });
  const front = await startSocketbox(socketPath, FRONT_PORT);
  t.teardown(async () => {
    await front.stop();
    await relay.stop();
    await backend.close();
    tmp.remove();
  });

  const refused = await relayExchange({ host: '2001:db8::c8c8:c8c8', port: FRONT_PORT, localAddress: 'fd00:1::c8c8:c8c8', input: 'no header, no entry', allowReset: true });
  t.equal(refused.output.length, 0, 'the client was closed with nothing');
  t.equal(backend.accepted(), 0, 'the backend never saw it');
  await waitFor('the refusal in the log', () => /refused: the PROXY header cannot be built in full \(refused so far: 1\)/.test(relay.stderr()), 5000);

  const served = await relayExchange({ host: '2001:db8::1', port: FRONT_PORT, localAddress: 'fd00:1::5', input: 'fits' });
  t.equal(splitReply(served.output).rest.toString(), 'fits', 'a connection whose header fits is relayed');
  t.equal(backend.headers[0], `PROXY TCP6 fd00:0001:0000:0000:0000:0000:0.0.0.5 2001:0db8:0000:0000:0000:0000:0.0.0.1 ${served.localPort} ${FRONT_PORT}\r\n`, 'with its (widened) header');
  t.equal(backend.accepted(), 1, 'the only connection the backend saw');
});
