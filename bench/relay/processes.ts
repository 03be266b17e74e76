// The programs of the relay benchmark: the C peer as backend, socketbox-relay on a listening
// socket handed to it, and socketbox in front of a relay. Readiness comes from /proc.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { spawnWithListener } from '../../testkit/handed-listener';
import { isListening } from '../../testkit/proc-tcp';
import { waitFor } from '../../testkit/wait';

const run = promisify(execFile);

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

export async function startPeerServer(peer: string, port: number, threads: number): Promise<ChildProcess> {
  const child = spawn(peer, ['serve', String(port), String(threads)], { stdio: 'ignore' });
  await waitFor(`the backend on ${port}`, () => isListening(port));
  return child;
}

/** socketbox-relay -l 3 ARGS on an IPv6-only listener at [::1]:port made here. */
export async function startRelayOnListener(relayBin: string, port: number, args: string[]): Promise<ChildProcess> {
  return spawnWithListener(relayBin, ['-l', '3', ...args], { host: '::1', port }, 'ignore');
}

/** socketbox -S SOCKET -l ::1 -p PORT feeding socketbox-relay -s SOCKET ARGS. */
export async function startSocketboxAndRelay(
  socketboxBin: string,
  relayBin: string,
  socketPath: string,
  port: number,
  args: string[],
): Promise<ChildProcess[]> {
  const relay = spawn(relayBin, ['-s', socketPath, ...args], { stdio: 'ignore' });
  await waitFor(`the relay socket ${socketPath}`, () => fs.existsSync(socketPath));
  const front = spawn(socketboxBin, ['-S', socketPath, '-l', '::1', '-p', String(port)], { stdio: 'ignore' });
  await waitFor(`socketbox on ${port}`, () => isListening(port));
  return [front, relay];
}

export async function peerJson<T>(peer: string, args: string[]): Promise<T> {
  const { stdout } = await run(peer, args, { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as T;
}
