// A process's open descriptors, read from /proc/PID/fd (docs/testing.md: "Accounting and leaks,
// through /proc").
import * as fs from 'node:fs';

/** Descriptors open in pid, by number. */
export function openFds(pid: number): number[] {
  return fs
    .readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((a, b) => a - b);
}

/** How many descriptors pid has open. */
export function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
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

/** pid's descriptors on sockets, with the socket's inode, from their "socket:[inode]" links. */
export function socketFds(pid: number): Array<{ fd: number; inode: string }> {
  return [...fdTargets(pid)].flatMap(([fd, target]) => {
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    return inode ? [{ fd, inode }] : [];
  });
}
