// What the kernel says a process has used: CPU from /proc/PID/stat, peak memory from
// /proc/PID/status (docs/testing.md, "Accounting and leaks, through /proc").
import * as fs from 'node:fs';

/** Clock ticks per second of /proc/PID/stat's CPU fields on this machine (USER_HZ). */
export const TICKS_PER_SECOND = 100;
export const MICROSECONDS_PER_TICK = 1_000_000 / TICKS_PER_SECOND;

/** User + system CPU ticks of pid, all threads (fields 14 and 15 of /proc/PID/stat). */
export function cpuTicks(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // "pid (comm) state ...": comm may hold spaces, so count fields after the last ')'; there
  // the state is field 3, which makes utime and stime the 12th and 13th.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Peak resident set size of pid in KiB (VmHWM). */
export function peakRssKiB(pid: number): number {
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]);
}
