import * as os from 'node:os';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { AcceptPool } from '../server/accept-pool';
import { ERRNO_COUNTERS, LATENCY_BOUNDS_US, REFUSAL_REASONS, SOURCE_RATE, STAT } from '../server/stats-layout';
import { targetBooks } from '../server/target-books';
import { NativeHistogram } from './native-histogram';
import { registerRegistrarMetrics } from './registrar-metrics';
import type { FastPath } from '../fastpath/fast-path';
import { fastPathBooks, registerFastPathMetrics } from '../fastpath/fastpath-metrics';

/** Reload attempts so far, and whether the last one failed (the old rules are then still in force). */
export interface ReloadCounts {
  succeeded: number;
  failed: number;
  lastFailed: boolean;
}

/** What the metrics read at scrape time; nothing here is touched per connection. */
export interface MetricsSources {
  pool: AcceptPool;
  reloads: ReloadCounts;
  /** How many connections may wait for full receivers in all: --max-pending per worker, times the workers. */
  pendingLimit: number;
  /** The registrar's counters (JSON config), laid out as REGISTRAR_STAT. */
  registrar?: BigUint64Array;
  /** Log lines stderr could not take at once, dropped (main thread and access log). */
  logLinesDropped?: () => number;
  /** The kernel fast path (JSON config), when attached: its connections join the books below. */
  fastpath?: FastPath;
}

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** Sets a counter to values read elsewhere: prom-client counters only go up, and so do these. */
function setCounter(c: Counter<string>, labels: Record<string, string>, value: bigint | number): void {
  c.inc(labels, Number(value));
}

export function buildRegistry(src: MetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { pool } = src;
  if (src.registrar) registerRegistrarMetrics(registry, src.registrar);
  if (src.registrar) registerFastPathMetrics(registry, src.fastpath);
  const fastpath = (): ReturnType<typeof fastPathBooks> | undefined => (src.fastpath ? fastPathBooks(src.fastpath) : undefined);

  new Counter({
    name: 'socketbox_connections_accepted_total',
    help: 'Connections accepted, per worker.',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      pool.perLoop(STAT.accepted).forEach((v, i) => setCounter(this, { worker: String(i) }, v));
      const fp = fastpath(); // fast path: counted when the program assigns a connection
      if (fp) setCounter(this, { worker: 'fastpath' }, fp.accepted);
    },
  });
  new Counter({
    name: 'socketbox_connections_delivered_total',
    help: 'Connections handed to their receiver, per target as named in the config (the template for -U paths).',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const book of targetBooks(pool, src.fastpath)) setCounter(this, { target: book.target }, book.delivered);
    },
  });
  new Counter({
    name: 'socketbox_connections_refused_by_target_total',
    help: 'Connections refused after their target was chosen, per target, summed over the reasons (socketbox_connections_refused_total has them).',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const book of targetBooks(pool, src.fastpath)) setCounter(this, { target: book.target }, book.refused);
    },
  });
  new Counter({
    name: 'socketbox_connections_refused_total',
    help: 'Connections closed or reset on purpose, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      const totals = pool.totals();
      for (const [reason, index] of REFUSAL_REASONS) setCounter(this, { reason }, totals[index]);
      setCounter(this, { reason: 'no_receiver' }, fastpath()?.refusedNoReceiver ?? 0); // fast path: taken back from a gone receiver
    },
  });
  new Gauge({
    name: 'socketbox_connections_pending',
    help: 'Connections waiting for room in their receiver’s queue, per target.',
    labelNames: ['target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const book of targetBooks(pool, src.fastpath)) this.set({ target: book.target }, Number(book.waiting));
    },
  });
  new Counter({
    name: 'socketbox_accept_errors_total',
    help: 'Failed accept calls, by errno.',
    labelNames: ['errno'],
    registers: [registry],
    collect() {
      this.reset();
      const totals = pool.totals();
      for (let e = 0; e < ERRNO_COUNTERS; e++) {
        const v = totals[STAT.acceptErrno + e];
        if (v > 0n) setCounter(this, { errno: e === 0 ? 'other' : (ERRNO_NAMES.get(e) ?? String(e)) }, v);
      }
    },
  });
  new Counter({
    name: 'socketbox_accept_pauses_total',
    help: 'Times intake paused for lack of descriptors or memory.',
    registers: [registry],
    collect() {
      this.reset();
      setCounter(this, {}, pool.totals()[STAT.acceptPauses]);
    },
  });
  new Counter({
    name: 'socketbox_sched_policy_switches_total',
    help: '--sched-policy adaptive: times an accept loop thread switched between SCHED_OTHER and SCHED_BATCH.',
    registers: [registry],
    collect() {
      this.reset();
      setCounter(this, {}, pool.totals()[STAT.schedSwitches]);
    },
  });
  new Counter({
    name: 'socketbox_upstream_descriptors_total',
    help: '-P: descriptors received from the registration server, by result (accepted: a TCP connection, routed; invalid: closed unused).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      const totals = pool.totals();
      setCounter(this, { result: 'accepted' }, totals[STAT.upstreamReceived]);
      setCounter(this, { result: 'invalid' }, totals[STAT.upstreamInvalid]);
    },
  });
  new Gauge({
    name: 'socketbox_source_rate_entries',
    help: `--source-rate: sources the table holds now (at most ${SOURCE_RATE.entries}, for the whole process).`,
    registers: [registry],
    collect() {
      // Entries are taken, never given back: a full table stays full and evicts instead.
      this.set(Number(pool.totals()[STAT.sourceRateEntries]));
    },
  });
  new Counter({
    name: 'socketbox_source_rate_evictions_total',
    help: '--source-rate: sources forgotten, least recently seen first, to make room for new ones (they come back with a full bucket).',
    registers: [registry],
    collect() {
      this.reset();
      setCounter(this, {}, pool.totals()[STAT.sourceRateEvictions]);
    },
  });
  new Counter({
    name: 'socketbox_log_lines_dropped_total',
    help: 'Log and access-log lines dropped because stderr could not take them at once (nobody reading it); logging never blocks.',
    registers: [registry],
    collect() {
      this.reset();
      setCounter(this, {}, src.logLinesDropped?.() ?? 0);
    },
  });
  new Gauge({
    name: 'socketbox_connections_pending_limit',
    help: 'How many connections may wait for full receivers in all (--max-pending per worker, times the workers); beyond it they are refused as queue_full.',
    registers: [registry],
    collect() {
      this.set(src.pendingLimit);
    },
  });
  new Gauge({
    name: 'socketbox_config_generation',
    help: 'Rule tables published so far (1 after start-up, +1 per successful reload).',
    registers: [registry],
    collect() {
      this.set(1 + src.reloads.succeeded);
    },
  });
  new Counter({
    name: 'socketbox_config_reloads_total',
    help: 'Reload attempts (SIGHUP), by result.',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      this.reset();
      setCounter(this, { result: 'success' }, src.reloads.succeeded);
      setCounter(this, { result: 'failure' }, src.reloads.failed);
    },
  });
  new Gauge({
    name: 'socketbox_config_last_reload_successful',
    help: '0 while the last reload failed (the previous rules are still in force), 1 otherwise.',
    registers: [registry],
    collect() {
      this.set(src.reloads.lastFailed ? 0 : 1);
    },
  });
  new Counter({
    name: 'socketbox_worker_restarts_total',
    help: 'Worker threads restarted after they died.',
    registers: [registry],
    collect() {
      this.reset();
      setCounter(this, {}, pool.restarts);
    },
  });
  new Gauge({
    name: 'socketbox_workers',
    help: 'Accept loops (worker threads) configured.',
    registers: [registry],
    collect() {
      this.set(pool.size);
    },
  });
  const latency = new NativeHistogram(
    { name: 'socketbox_dispatch_latency_seconds', help: 'From accept to the descriptor handed to its receiver.' },
    () => {
      const totals = pool.totals();
      return {
        boundsSeconds: LATENCY_BOUNDS_US.map((us) => us / 1e6),
        counts: totals.slice(STAT.latencyBuckets, STAT.latencyBuckets + LATENCY_BOUNDS_US.length + 1),
        sum: Number(totals[STAT.latencySumUs]) / 1e6,
      };
    },
  );
  registry.registerMetric(latency as never);
  return registry;
}
