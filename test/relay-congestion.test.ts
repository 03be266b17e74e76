// The congestion control of the relay's backend connections: reno by default for a loopback
// backend (pacing, as bbr does, costs a relayed transfer most of its throughput there), and
// whatever -C names otherwise. Read from the kernel with `ss -ti`.
import { enterTestNetns } from '../testkit/netns';
enterTestNetns();

import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { startEchoBackend } from './helpers/relay-backends';
import { connectTo, nextData } from './helpers/relay-client';
import { startRelayOnListener } from './helpers/relay-process';

const BACKEND_PORT = 9100;

/** The congestion control named in `ss -ti` for connections to the backend port. */
function backendCongestion(): string[] {
  const out = execFileSync('ss', ['-tinH', 'state', 'established', `( dport = :${BACKEND_PORT} )`], { encoding: 'utf8' });
  // ss names it once per socket, and bbr again in its bbr:(…) details.
  return [...new Set([...out.matchAll(/\b(reno|cubic|bbr|bbr2|dctcp|vegas|westwood|htcp|bic)\b/g)].map((m) => m[1]))];
}

async function congestionThrough(t: Test, port: number, args: string[]): Promise<string[]> {
  const relay = await startRelayOnListener('::1', port, ['-p', String(BACKEND_PORT), ...args]);
  t.teardown(relay.stop);
  const client = await connectTo('::1', port);
  t.teardown(() => client.destroy());
  client.write('ping\n');
  await nextData(client); // the echo came back: the backend connection is established
  return backendCongestion();
}

t.test('reno for a loopback backend by default', async (t) => {
  const backend = await startEchoBackend('::1', BACKEND_PORT);
  t.teardown(backend.close);
  t.same(await congestionThrough(t, 9101, []), ['reno']);
});

t.test('-C NAME is used as given', async (t) => {
  const available = fs.readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);
  // Another one than the default when the kernel has one (Linux always has cubic or bbr built in).
  const other = available.find((name) => name !== 'reno') ?? 'reno';
  const backend = await startEchoBackend('::1', BACKEND_PORT);
  t.teardown(backend.close);
  t.same(await congestionThrough(t, 9102, ['-C', other]), [other], `-C ${other}`);
});
