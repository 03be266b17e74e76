// Driving bench/c/loadgen.c and reading its JSON report.
import { runToCompletion } from './child-process';
import { onCpus } from './cpu-placement';

export interface LoadgenRequest {
  port: number;
  connections: number;
  inflight: number;
  /** Start no new connection after this many milliseconds (0: no limit). */
  durationLimitMs: number;
  /** A connection that has not got its byte by then is lost. */
  connectionTimeoutMs: number;
  /** Where the load generator writes each completed connection's port, start and end (-T). */
  timesFile?: string;
}

export interface LostCounts {
  refused: number;
  reset: number;
  eof: number;
  timeout: number;
  other: number;
}

export interface LoadgenReport {
  requested: number;
  /** Connections started (fewer than requested when the duration limit hit). */
  connections: number;
  completed: number;
  lost: number;
  failed: LostCounts;
  elapsed_s: number;
  rate_per_s: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  max_us: number;
  time_limited: boolean;
  loadgen_cpu_us_per_conn: number;
  /** The CPUs the load generator was allowed to run on. */
  cpus: number[];
}

/** Runs the load generator, on the given CPUs when cpus is not null. */
export async function runLoadgen(program: string, request: LoadgenRequest, cpus: string | null = null): Promise<LoadgenReport> {
  const args = [
    '-a', '::1',
    '-p', String(request.port),
    '-n', String(request.connections),
    '-c', String(request.inflight),
    '-d', String(request.durationLimitMs),
    '-t', String(request.connectionTimeoutMs),
    ...(request.timesFile === undefined ? [] : ['-T', request.timesFile]),
  ];
  // Bounded by the duration limit plus the slowest connection's timeout, with room to spare.
  const timeoutMs = (request.durationLimitMs || 600_000) + request.connectionTimeoutMs + 30_000;
  const placed = onCpus(cpus, program, args);
  const stdout = await runToCompletion('loadgen', placed.file, placed.args, timeoutMs);
  return JSON.parse(stdout) as LoadgenReport;
}
