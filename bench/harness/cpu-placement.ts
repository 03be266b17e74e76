// Which CPUs the benchmark's processes may run on. With 'split' the load generator gets the
// first allowed CPU and the servers (floor, or socketbox with its receiver) the others, as if
// the clients were on another machine: both sides of the comparison then get the same CPUs, and
// neither competes with the load generator for them. With 'shared' the kernel places every
// process on every CPU, so socketbox's two processes take CPU from the load generator itself.
import * as fs from 'node:fs';

export type Placement = 'split' | 'shared';

export const PLACEMENTS: readonly Placement[] = ['split', 'shared'];

/** taskset-style CPU lists ("0", "1-3"); null means no restriction. */
export interface CpuSets {
  placement: Placement;
  loadgen: string | null;
  servers: string | null;
}

/** Parses a kernel CPU list such as "0-3,6,8-9" into CPU numbers, ascending. */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`not a CPU list: '${text.trim()}'`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) throw new Error(`not a CPU list: '${text.trim()}'`);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The CPUs this process may run on (its affinity, not just the machine's count). */
export function allowedCpus(statusFile = '/proc/self/status'): number[] {
  const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(fs.readFileSync(statusFile, 'utf8'));
  if (!m) throw new Error(`${statusFile} has no Cpus_allowed_list`);
  return parseCpuList(m[1]);
}

const formatCpuList = (cpus: readonly number[]): string => cpus.join(',');

/** A split needs two CPUs at least; on one CPU everything shares it whatever was asked. */
export function cpuSetsFor(placement: Placement, cpus: readonly number[]): CpuSets {
  if (placement === 'shared' || cpus.length < 2) return { placement: 'shared', loadgen: null, servers: null };
  return { placement: 'split', loadgen: String(cpus[0]), servers: formatCpuList(cpus.slice(1)) };
}

/** The command line that runs FILE ARGS on the given CPUs (taskset execs, so the pid stays). */
export function onCpus(cpus: string | null, file: string, args: readonly string[]): { file: string; args: string[] } {
  return cpus === null ? { file, args: [...args] } : { file: 'taskset', args: ['--cpu-list', cpus, file, ...args] };
}
