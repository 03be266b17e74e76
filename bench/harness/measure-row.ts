// One row of the benchmark: a fresh server, a warm-up, then the measured load with the server's
// CPU ticks read just before and after, its peak RSS, and its own counts checked against what
// the load generator saw.
import { runLoadgen, type LoadgenReport } from './loadgen';
import { allowedCpus } from './cpu-placement';
import { cpuTicks, MICROSECONDS_PER_TICK } from '../../testkit/proc-stat';
import { memoryKiB } from '../../testkit/proc-status';
import { SERVER_LABELS, startServer, type ServerCounts, type ServerKind, type ServerSetup } from './servers';

export interface RowRequest {
  kind: ServerKind;
  /** Which round of the run this is (1-based), for the report. */
  round: number;
  inflight: number;
  connections: number;
  warmupConnections: number;
  /** The measured load starts no new connection after this long. */
  durationLimitMs: number;
  connectionTimeoutMs: number;
}

export interface Accounting {
  /** Connections that got their byte, warm-up included: what every counter must agree with. */
  loadgenCompleted: number;
  server: ServerCounts;
  /** Empty when every count agrees. */
  mismatches: string[];
}

/** What a row takes as it is from the load generator's report of the measured load. */
type LoadMeasures = Pick<
  LoadgenReport,
  'connections' | 'completed' | 'lost' | 'failed' | 'time_limited' | 'elapsed_s' | 'rate_per_s' | 'p50_us' | 'p99_us' | 'p999_us' | 'max_us' | 'loadgen_cpu_us_per_conn'
>;

function loadMeasures(r: LoadgenReport): LoadMeasures {
  const { connections, completed, lost, failed, time_limited, elapsed_s, rate_per_s, p50_us, p99_us, p999_us, max_us, loadgen_cpu_us_per_conn } = r;
  return { connections, completed, lost, failed, time_limited, elapsed_s, rate_per_s, p50_us, p99_us, p999_us, max_us, loadgen_cpu_us_per_conn };
}

export interface Row extends LoadMeasures {
  server: ServerKind;
  round: number;
  label: string;
  inflight: number;
  warmup_lost: number;
  server_cpu_us_per_conn: number;
  receiver_cpu_us_per_conn: number | null;
  peak_rss_kib: number;
  /** The CPUs each process was allowed to run on, read from the processes themselves. */
  cpus: { loadgen: number[]; server: number[]; receiver: number[] | null };
  accounting: Accounting;
}

/**
 * Counts that do not add up. Refusals are not mismatches: they show as lost connections.
 * The fast path's counters count the BPF program's lookups, not connections: a segment of an
 * already closed connection (a late ACK or FIN) also reaches the listener lookup and is counted,
 * though no connection comes of it (docs/fast-path.md, "Counters and the books"). There the receiver's
 * count must equal the connections made, and the lookups must be at least as many.
 */
function checkCounts(completed: number, c: ServerCounts, countsLookups: boolean): string[] {
  const problems: string[] = [];
  const expect = (what: string, actual: number | null, wanted: number) => {
    if (actual !== null && actual !== wanted) problems.push(`${what} ${actual}, expected ${wanted}`);
  };
  if (c.delivered === null) {
    expect('floor accepted', c.accepted, completed);
  } else {
    expect('socketbox accepted', c.accepted, c.delivered + (c.refused ?? 0));
    if (countsLookups) {
      if (c.delivered < completed) problems.push(`socketbox fast-path lookups ${c.delivered}, fewer than the ${completed} connections`);
      expect('receiver received', c.received, completed);
    } else {
      expect('socketbox delivered', c.delivered, completed);
      expect('receiver received', c.received, c.delivered);
    }
  }
  expect('bytes not written', c.writeFailed, 0);
  return problems;
}

const perConnection = (ticks: number, connections: number): number =>
  connections > 0 ? (ticks * MICROSECONDS_PER_TICK) / connections : 0;

/** loadgenCpus: where the load generator runs (null: any CPU). */
export async function measureRow(request: RowRequest, setup: ServerSetup, loadgenCpus: string | null): Promise<Row> {
  const server = await startServer(request.kind, setup);
  let warmup: LoadgenReport;
  let run: LoadgenReport;
  let serverTicks: number;
  let receiverTicks: number | null = null;
  let peakRss: number;
  let serverCpus: number[];
  let receiverCpus: number[] | null = null;
  try {
    const load = { port: server.port, inflight: request.inflight, connectionTimeoutMs: request.connectionTimeoutMs };
    warmup = await runLoadgen(setup.programs.loadgen, { ...load, connections: request.warmupConnections, durationLimitMs: 0 }, loadgenCpus);
    const serverBefore = cpuTicks(server.serverPid);
    const receiverBefore = server.receiverPid === null ? 0 : cpuTicks(server.receiverPid);
    run = await runLoadgen(setup.programs.loadgen, {
      ...load,
      connections: request.connections,
      durationLimitMs: request.durationLimitMs,
    }, loadgenCpus);
    serverTicks = cpuTicks(server.serverPid) - serverBefore;
    if (server.receiverPid !== null) receiverTicks = cpuTicks(server.receiverPid) - receiverBefore;
    peakRss = memoryKiB(server.serverPid, 'VmHWM');
    serverCpus = allowedCpus(`/proc/${server.serverPid}/status`);
    if (server.receiverPid !== null) receiverCpus = allowedCpus(`/proc/${server.receiverPid}/status`);
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw error;
  }
  const counts = await server.stop();
  const loadgenCompleted = warmup.completed + run.completed;
  return {
    server: request.kind,
    round: request.round,
    label: SERVER_LABELS[request.kind],
    inflight: request.inflight,
    ...loadMeasures(run),
    warmup_lost: warmup.lost,
    server_cpu_us_per_conn: perConnection(serverTicks, run.connections),
    receiver_cpu_us_per_conn: receiverTicks === null ? null : perConnection(receiverTicks, run.connections),
    peak_rss_kib: peakRss,
    cpus: { loadgen: run.cpus, server: serverCpus, receiver: receiverCpus },
    accounting: { loadgenCompleted, server: counts, mismatches: checkCounts(loadgenCompleted, counts, request.kind.startsWith('socketbox-fastpath')) },
  };
}
