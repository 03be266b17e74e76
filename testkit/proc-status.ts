// Fields of /proc/PID/status: identity, privileges, memory (docs/testing.md: "Accounting and
// leaks, through /proc").
import * as fs from 'node:fs';

/** A field of /proc/PID/status (or of one thread's, with tid), e.g. "Uid" -> "0\t0\t0\t0". */
export function statusField(pid: number, field: string, tid?: number): string {
  const file = tid === undefined ? `/proc/${pid}/status` : `/proc/${pid}/task/${tid}/status`;
  const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return (line ?? '').slice(field.length + 1).trim();
}

/** A memory field of pid in KiB: "VmRSS" (resident now), "VmHWM" (peak resident), ... */
export function memoryKiB(pid: number, field: string): number {
  const match = /^(\d+) kB$/.exec(statusField(pid, field));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}
