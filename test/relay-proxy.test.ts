// PROXY protocol headers (-i: version 1 text, -2: version 2 binary) parsed by the test's
// backend carry the true client address and port and the address it dialled, and the
// client's bytes follow the header untouched.
import { enterTestNetns } from './helpers/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClientAddon } from '../src/clients/load-client-addon';
import { startProxyBackend, type ProxyInfo } from './helpers/relay-backends';
import { relayExchange } from './helpers/relay-client';
import { startFrontAndRelay, startRelay, tempDir } from './helpers/relay-process';
import { unixPair } from './helpers/relay-unix-pair';

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
    s.on('data', (c) => (reply += c));
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
