// TCP sockets as the kernel lists them in /proc/net/tcp6 and /proc/net/tcp: whether something
// listens, without a probe connection that would itself be accepted and routed (docs/testing.md:
// "Waiting without disturbing"), and which connections a process holds.
import * as fs from 'node:fs';
import { socketFds } from './proc-fds';
import { waitFor } from './wait';

const TCP_LISTEN = '0A';

/** The rows of /proc/net/tcp6 and /proc/net/tcp, split into fields (a missing table is skipped). */
function tcpTableRows(): string[][] {
  const rows: string[][] = [];
  for (const table of ['/proc/net/tcp6', '/proc/net/tcp']) {
    let lines: string[];
    try {
      lines = fs.readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) rows.push(line.trim().split(/\s+/));
  }
  return rows;
}

/** The local addresses (as /proc/net/tcp{,6} write them, e.g. 0100007F for 127.0.0.1) of the sockets listening on port. */
export function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return tcpTableRows().flatMap((fields) => (fields.length > 3 && fields[1].endsWith(`:${hexPort}`) && fields[3] === TCP_LISTEN ? [fields[1].split(':')[0]] : []));
}

/** True when some socket listens on TCP port (any address). */
export function isListening(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return tcpTableRows().some((fields) => fields.length > 3 && fields[1].endsWith(`:${hexPort}`) && fields[3] === TCP_LISTEN);
}

/** Waits until something listens on port, without connecting to it. */
export function waitForListening(port: number, timeoutMs = 10_000): Promise<void> {
  return waitFor(`a listener on port ${port}`, () => isListening(port), timeoutMs);
}

/** The inodes of the TCP sockets in LISTEN state (listening), or in any other (not). */
function tcpInodes(listening: boolean): Set<string> {
  return new Set(tcpTableRows().flatMap((cols) => (cols.length > 9 && (cols[3] === TCP_LISTEN) === listening ? [cols[9]] : [])));
}

/** TCP sockets other than listeners that pid holds (accepted connections). */
export function heldTcpConnections(pid: number): number {
  const connections = tcpInodes(false);
  return socketFds(pid).filter((s) => connections.has(s.inode)).length;
}

/** pid's descriptors on listening TCP sockets. */
export function listeningTcpFds(pid: number): number[] {
  const listeners = tcpInodes(true);
  return socketFds(pid).flatMap((s) => (listeners.has(s.inode) ? [s.fd] : []));
}
