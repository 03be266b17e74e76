// A second network namespace beside the test's own, for clients whose packets must arrive from
// outside (docs/testing.md: "A private network namespace with AnyIP").
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { ip } from './netns';
import { waitFor } from './wait';

/** A second network namespace joined to the test's own by a veth pair. */
export interface PeerNetns {
  /** The process holding the namespace open. */
  pid: number;
  /** Runs a command inside the peer namespace and returns its stdout. */
  exec(cmd: string, args: string[]): string;
  /** Starts a command inside the peer namespace. */
  spawn(cmd: string, args: string[]): ChildProcess;
  /** Ends the namespace (and with it the veth pair). */
  close(): Promise<void>;
}

/**
 * Creates a peer namespace for clients whose packets must arrive from outside
 * (e.g. through prerouting): a veth pair `name`-here / `name`-peer, `hereAddress`
 * on this side, `peerAddress` on the other (both IPv6/64, no DAD wait), and in the
 * peer a route for each of `routes` via `hereAddress`. The namespace lives as long
 * as a `cat` reading a pipe from this process: it ends with close(), or when this
 * process dies, whatever the way.
 */
export async function startPeerNetns(opts: { name: string; hereAddress: string; peerAddress: string; routes: string[] }): Promise<PeerNetns> {
  const holder = spawn('unshare', ['-n', '--', 'cat'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const pid = holder.pid as number;
  const ours = fs.readlinkSync('/proc/self/ns/net');
  const netns = `/proc/${pid}/ns/net`;
  const exited = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    holder.stdin?.end();
    await exited;
  };
  try {
    await waitFor('the peer namespace', () => {
      try {
        return fs.readlinkSync(netns) !== ours;
      } catch {
        return false;
      }
    });
    const exec = (cmd: string, args: string[]): string => execFileSync('nsenter', [`--net=${netns}`, '--', cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const here = `${opts.name}-here`;
    const peer = `${opts.name}-peer`;
    ip('link', 'add', here, 'type', 'veth', 'peer', 'name', peer, 'netns', String(pid));
    ip('-6', 'addr', 'add', `${opts.hereAddress}/64`, 'dev', here, 'nodad');
    ip('link', 'set', here, 'up');
    exec('ip', ['link', 'set', 'lo', 'up']);
    exec('ip', ['-6', 'addr', 'add', `${opts.peerAddress}/64`, 'dev', peer, 'nodad']);
    exec('ip', ['link', 'set', peer, 'up']);
    for (const route of opts.routes) exec('ip', ['-6', 'route', 'add', route, 'via', opts.hereAddress]);
    return {
      pid,
      exec,
      spawn: (cmd, args) => spawn('nsenter', [`--net=${netns}`, '--', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
