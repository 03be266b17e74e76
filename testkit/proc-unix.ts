// UNIX sockets as the kernel lists them in /proc/net/unix, matched with a process's descriptors:
// a bound socket counts only while someone holds it, so a stale socket file does not.
import * as fs from 'node:fs';
import { socketFds } from './proc-fds';

interface UnixSocketRow {
  inode: string;
  /** 1 stream, 2 datagram, 5 seqpacket. */
  type: number;
  /** '@name' for abstract, '' unbound. */
  path: string;
}

/** The rows of /proc/net/unix (of this network namespace). */
function unixSocketRows(): UnixSocketRow[] {
  return fs
    .readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 7)
    .map((fields) => ({ inode: fields[6], type: parseInt(fields[4], 16), path: fields.slice(7).join(' ') }));
}

/** True when a UNIX socket is bound at path ('@name' for abstract) in this network namespace. */
export function unixSocketBound(path: string): boolean {
  return unixSocketRows().some((row) => row.path === path);
}

/** pid's descriptors on UNIX sockets bound to path: a listener and the connections accepted on it (duplicates each count). */
export function unixSocketFdsAt(pid: number, path: string): number[] {
  const inodes = new Set(unixSocketRows().flatMap((row) => (row.path === path ? [row.inode] : [])));
  return socketFds(pid).flatMap((s) => (inodes.has(s.inode) ? [s.fd] : []));
}

/** True when pid holds a UNIX socket bound to path (so a stale file there does not count). */
export function holdsUnixSocket(pid: number, path: string): boolean {
  return unixSocketFdsAt(pid, path).length > 0;
}

/** pid's descriptors on UNIX sockets of a type (2 datagram, 5 seqpacket). */
export function unixSocketFdsOfType(pid: number, type: number): number[] {
  const inodes = new Set(unixSocketRows().flatMap((row) => (row.type === type ? [row.inode] : [])));
  return socketFds(pid).flatMap((s) => (inodes.has(s.inode) ? [s.fd] : []));
}
