// socketbox-relay against a direct loopback connection to the same backend, in one run:
// one 1 GB transfer, and 10,000 short request/response connections. Prints each figure
// and the relayed/direct ratios (the issue asks for >= 0.8x direct throughput).
//
//   node dist/bench/relay-throughput.js [--bytes N] [--connections N] [--concurrency N] [--rounds N]
//
// The relay runs as installed (logging on, to /dev/null). "relay" accepts on a listening
// socket handed to it (-l), with its defaults (reno for a loopback backend); "relay -C SYSTEM"
// forces the system's congestion control (when it paces, as bbr does, loopback transfers
// suffer); "socketbox+relay" adds socketbox's handover (-S / -s) in front.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { peerBinary } from './relay/peer-binary';
import { freePort } from '../testkit/free-port';
import { binPath, projectRoot } from '../testkit/project-root';
import { peerJson, startPeerServer, startRelayOnListener, startSocketboxAndRelay, stop } from './relay/processes';

const relayBin = binPath('socketbox-relay');
const socketboxBin = binPath('socketbox');

const { values } = parseArgs({
  options: {
    bytes: { type: 'string', default: String(1 << 30) },
    connections: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
  },
});
const BYTES = Number(values.bytes);
const CONNECTIONS = Number(values.connections);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Path {
  name: string;
  port: number;
}

async function main(): Promise<void> {
  const peer = peerBinary(projectRoot);
  const backendPort = await freePort();
  const relayPort = await freePort();
  const systemPort = await freePort();
  const systemCongestion = fs.readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
  const chainPort = await freePort();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-relay-bench-'));
  const children = [await startPeerServer(peer, backendPort, 8)];
  try {
    const backend = ['-p', String(backendPort)];
    children.push(await startRelayOnListener(relayBin, relayPort, backend));
    children.push(await startRelayOnListener(relayBin, systemPort, [...backend, '-C', systemCongestion]));
    children.push(...(await startSocketboxAndRelay(socketboxBin, relayBin, path.join(tmp, 'relay.sock'), chainPort, backend)));
    const paths: Path[] = [
      { name: 'direct', port: backendPort },
      { name: 'relay', port: relayPort },
      { name: `relay -C ${systemCongestion}`, port: systemPort },
      { name: 'socketbox+relay', port: chainPort },
    ];
    const throughput = new Map<string, number[]>();
    const rate = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      // Interleaved, so that a slow moment of the machine hits every path alike.
      for (const p of paths) {
        const bulk = await peerJson<{ bytes: number; seconds: number }>(peer, ['bulk', '::1', String(p.port), String(BYTES)]);
        throughput.set(p.name, [...(throughput.get(p.name) ?? []), bulk.bytes / bulk.seconds]);
      }
      for (const p of paths) {
        const rr = await peerJson<{ connections: number; failed: number; seconds: number }>(peer, [
          'rr', '::1', String(p.port), String(CONNECTIONS), String(CONCURRENCY),
        ]);
        if (rr.failed > 0) throw new Error(`${p.name}: ${rr.failed} of ${rr.connections} connections failed`);
        rate.set(p.name, [...(rate.get(p.name) ?? []), rr.connections / rr.seconds]);
      }
    }
    const gbps = (name: string): number => median(throughput.get(name)!) / 1e9;
    const cps = (name: string): number => median(rate.get(name)!);
    console.log(`socketbox-relay benchmark: ${os.cpus().length} CPUs, median of ${ROUNDS} rounds`);
    console.log(`  ${BYTES} bytes in one connection; ${CONNECTIONS} request/response connections, ${CONCURRENCY} at a time`);
    console.log(`  ${'path'.padEnd(24)}  throughput   short connections`);
    for (const p of paths)
      console.log(`  ${p.name.padEnd(24)}  ${gbps(p.name).toFixed(2).padStart(5)} GB/s   ${cps(p.name).toFixed(0).padStart(8)} /s`);
    for (const p of paths.slice(1)) {
      console.log(
        `  ${p.name} / direct: throughput ${(gbps(p.name) / gbps('direct')).toFixed(2)}x, ` +
          `short-connection rate ${(cps(p.name) / cps('direct')).toFixed(2)}x`,
      );
    }
  } finally {
    for (const child of children.reverse()) await stop(child);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`relay benchmark: ${(error as Error).message}`);
  process.exitCode = 1;
});
