// A process's (or thread's) state, parent, CPU time and scheduling policy, from /proc/PID/stat
// (docs/testing.md: "Accounting and leaks, through /proc").
import * as fs from 'node:fs';

/** Clock ticks per second of /proc/PID/stat's CPU fields on this machine (USER_HZ). */
export const TICKS_PER_SECOND = 100;
export const MICROSECONDS_PER_TICK = 1_000_000 / TICKS_PER_SECOND;

/**
 * The fields of /proc/PID/stat (or of one thread's, with tid) from the third on: "pid (comm)"
 * comes first and comm may hold spaces and parentheses, so they are counted after the last ')'.
 * Field N of proc(5) is at index N - 3.
 */
export function statFields(pid: number, tid?: number): string[] {
  const text = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** The state letter of pid (R, S, D, Z, ...), field 3. */
export const processState = (pid: number): string => statFields(pid)[0];

/** User + system CPU ticks of pid, all threads (fields 14 and 15). */
export function cpuTicks(pid: number): number {
  const fields = statFields(pid);
  return Number(fields[11]) + Number(fields[12]);
}

/** Every thread of pid, for checks that must hold in all of them. */
export function threadIds(pid: number): number[] {
  return fs.readdirSync(`/proc/${pid}/task`).map(Number);
}

/** The scheduling policy of each thread of pid (field 41: 0 SCHED_OTHER, 3 SCHED_BATCH, 5 SCHED_IDLE), by thread id. */
export function threadSchedPolicies(pid: number): Map<number, number> {
  const policies = new Map<number, number>();
  for (const tid of threadIds(pid)) {
    try {
      policies.set(tid, Number(statFields(pid, tid)[38]));
    } catch {
      // a thread that ended meanwhile
    }
  }
  return policies;
}

export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const fields = statFields(pid);
    return { pid, state: fields[0], ppid: Number(fields[1]) };
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

/** Whether pid runs (a zombie, waiting for its parent to reap it, does not count). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
