// Looking at processes and sockets through /proc (docs/testing.md: "Accounting and leaks,
// through /proc", "Waiting without disturbing").
import * as fs from 'node:fs';

/** Descriptors open in pid, by number. */
export function openFds(pid: number): number[] {
  return fs
    .readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Where each descriptor of pid points ("socket:[123]", "pipe:[45]", a path...). */
export function fdTargets(pid: number): Map<number, string> {
  const targets = new Map<number, string>();
  for (const fd of openFds(pid)) {
    try {
      targets.set(fd, fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return targets;
}

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so cut at the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

/** Children of pid, with their state letters (Z = zombie). */
export function childrenOf(pid: number): ProcStat[] {
  const children: ProcStat[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.ppid === pid) children.push(stat);
  }
  return children;
}

export function zombieChildren(pid: number): ProcStat[] {
  return childrenOf(pid).filter((c) => c.state === 'Z');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls check until it returns true; fails with what after timeoutMs. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

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

const TCP_LISTEN = '0A';

/** True when some socket listens on TCP port (any address), per /proc/net/tcp{,6}. */
export function isListening(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return tcpTableRows().some((fields) => fields.length > 3 && fields[1].endsWith(`:${hexPort}`) && fields[3] === TCP_LISTEN);
}

/** The local addresses (as /proc/net/tcp{,6} writes them, e.g. 0100007F for 127.0.0.1) of the sockets listening on port. */
export function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return tcpTableRows().flatMap((fields) => (fields.length > 3 && fields[1].endsWith(`:${hexPort}`) && fields[3] === TCP_LISTEN ? [fields[1].split(':')[0]] : []));
}

/** pid's descriptors on sockets, with the socket's inode, from their "socket:[inode]" links. */
function socketFds(pid: number): Array<{ fd: number; inode: string }> {
  return [...fdTargets(pid)].flatMap(([fd, target]) => {
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    return inode ? [{ fd, inode }] : [];
  });
}

/** The inodes of the sockets pid holds. */
function socketInodesHeld(pid: number): string[] {
  return socketFds(pid).map((s) => s.inode);
}

/** TCP sockets other than listeners that pid holds (accepted connections), per /proc/net/tcp{,6}. */
export function heldTcpConnections(pid: number): number {
  const connections = new Set(tcpTableRows().flatMap((cols) => (cols.length > 9 && cols[3] !== TCP_LISTEN ? [cols[9]] : [])));
  return socketInodesHeld(pid).filter((inode) => connections.has(inode)).length;
}

/** pid's descriptors on listening TCP sockets. */
export function listeningTcpFds(pid: number): number[] {
  const listeners = new Set(tcpTableRows().flatMap((cols) => (cols.length > 9 && cols[3] === TCP_LISTEN ? [cols[9]] : [])));
  return socketFds(pid).flatMap((s) => (listeners.has(s.inode) ? [s.fd] : []));
}

/** Waits until something listens on port, without connecting to it. */
export function waitForListen(port: number, timeoutMs = 10_000): Promise<void> {
  return waitFor(`a listener on port ${port}`, () => isListening(port), timeoutMs);
}

/** The rows of /proc/net/unix: inode, type (1 stream, 2 datagram, 5 seqpacket) and path ('@name' for abstract, '' unbound). */
function unixSocketRows(): Array<{ inode: string; type: number; path: string }> {
  return fs
    .readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 7)
    .map((fields) => ({ inode: fields[6], type: parseInt(fields[4], 16), path: fields.slice(7).join(' ') }));
}

/** Inodes of UNIX sockets bound to path ('@name' for abstract ones), per /proc/net/unix. */
function unixSocketInodes(path: string): Set<string> {
  return new Set(unixSocketRows().flatMap((row) => (row.path === path ? [row.inode] : [])));
}

/** True when pid holds a UNIX socket bound to path (so a stale file there does not count). */
export function holdsUnixSocket(pid: number, path: string): boolean {
  return unixSocketFdsAt(pid, path).length > 0;
}

/** pid's descriptors on UNIX sockets bound to path: a listener and the connections accepted on it (duplicates each count). */
export function unixSocketFdsAt(pid: number, path: string): number[] {
  const inodes = unixSocketInodes(path);
  return socketFds(pid).flatMap((s) => (inodes.has(s.inode) ? [s.fd] : []));
}

/** pid's descriptors on UNIX sockets of a type (2 datagram, 5 seqpacket). */
export function unixSocketFdsOfType(pid: number, type: number): number[] {
  const inodes = new Set(unixSocketRows().flatMap((row) => (row.type === type ? [row.inode] : [])));
  return socketFds(pid).flatMap((s) => (inodes.has(s.inode) ? [s.fd] : []));
}

/** A field of /proc/PID/status (or of one thread's, with tid), e.g. "Uid" -> "0\t0\t0\t0". */
export function statusField(pid: number, field: string, tid?: number): string {
  const file = tid === undefined ? `/proc/${pid}/status` : `/proc/${pid}/task/${tid}/status`;
  const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return (line ?? '').slice(field.length + 1).trim();
}

/** Every thread of pid, for checks that must hold in all of them. */
export function threadIds(pid: number): number[] {
  return fs.readdirSync(`/proc/${pid}/task`).map(Number);
}
