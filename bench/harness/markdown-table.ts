// The benchmark's report as Markdown: one table row per measured row, then the targets.
import { renderColdStart } from './cold-start';
import { pairCpuUsPerConn, type ComparedRow } from './compare';
import type { BenchReport } from './report';

const integer = (n: number): string => Math.round(n).toLocaleString('en-US');
const oneDecimal = (n: number): string => n.toFixed(1);
const ratio = (row: ComparedRow, x: number | null): string =>
  row.server === 'floor' ? '—' : x === null ? 'n/a' : `${x.toFixed(2)}×`;

const COLUMNS: [string, 'l' | 'r', (r: ComparedRow) => string][] = [
  ['server', 'l', (r) => r.label],
  ['in flight', 'r', (r) => String(r.inflight)],
  ['conn/s', 'r', (r) => integer(r.rate_per_s)],
  ['rate × floor', 'r', (r) => ratio(r, r.vs_floor.rate)],
  ['lost', 'r', (r) => String(r.lost + r.warmup_lost)],
  ['p50 µs', 'r', (r) => integer(r.p50_us)],
  ['p99 µs', 'r', (r) => integer(r.p99_us)],
  ['p999 µs', 'r', (r) => integer(r.p999_us)],
  ['p99 × floor', 'r', (r) => ratio(r, r.vs_floor.p99)],
  // The headline cost: the floor writes and closes itself, under socketbox the receiver does.
  ['socketbox + receiver CPU µs/conn', 'r', (r) => oneDecimal(pairCpuUsPerConn(r))],
  ['both × floor', 'r', (r) => ratio(r, r.vs_floor.pair_cpu)],
  ['socketbox CPU µs/conn', 'r', (r) => oneDecimal(r.server_cpu_us_per_conn)],
  ['socketbox × floor', 'r', (r) => ratio(r, r.vs_floor.cpu)],
  ['receiver CPU µs/conn', 'r', (r) => (r.receiver_cpu_us_per_conn === null ? '—' : oneDecimal(r.receiver_cpu_us_per_conn))],
  ['peak RSS MiB', 'r', (r) => oneDecimal(r.peak_rss_kib / 1024)],
  // Near 100 %, the single-threaded load generator set the pace rather than the server.
  ['load generator busy', 'r', (r) => `${Math.round(loadgenBusyShare(r) * 100)} %`],
];

/** The share of one CPU the load generator used while it ran. */
const loadgenBusyShare = (r: ComparedRow): number => (r.rate_per_s * r.loadgen_cpu_us_per_conn) / 1e6;

function describePlacement(report: BenchReport): string {
  const c = report.options.cpus;
  return c.placement === 'split'
    ? `load generator on CPU ${c.loadgen}, servers and receiver on CPU ${c.servers} (\`--placement split\`)`
    : 'every process on every CPU (`--placement shared`)';
}

const tableRow = (cells: string[]): string => `| ${cells.join(' | ')} |`;

export function renderMarkdown(report: BenchReport): string {
  const { machine: m, options: o } = report;
  const load = report.rows.length
    ? [
        `${integer(o.connections)} connections per row after ${integer(o.warmup_connections)} warm-up connections` +
          (o.rounds > 1 ? `, median of ${o.rounds} rounds by rate` : '') +
          ', ' +
          `client and servers on loopback \`[::1]\`, ${describePlacement(report)}.`,
        'Latency runs from the start of `connect` to the first byte read. CPU is user + system time ' +
          '(`/proc/PID/stat`, 10 ms ticks) over the measured connections. The floor writes the byte and closes ' +
          'the connection itself; under socketbox the receiver does, so the headline cost is socketbox + receiver, ' +
          'with socketbox alone beside it. Ratios compare with the floor at the same number in flight.' +
          (report.rss_baseline_kib === null
            ? ''
            : ` Peak RSS baseline: a bare Node process with one worker thread, ${oneDecimal(report.rss_baseline_kib / 1024)} MiB.`),
        '',
        tableRow(COLUMNS.map(([title]) => title)),
        tableRow(COLUMNS.map(([, align]) => (align === 'r' ? '---:' : '---'))),
        ...report.rows.map((row) => tableRow(COLUMNS.map(([, , cell]) => cell(row)))),
        '',
      ]
    : [];
  const lines = [
    `## socketbox benchmark, ${report.generated_at}`,
    '',
    `${m.cpus} CPUs (${m.cpu_model}), Linux ${m.kernel}, Node ${m.node}; load average ${m.loadavg_before.toFixed(2)} → ${m.loadavg_after.toFixed(2)}; ` +
      `\`net.unix.max_dgram_qlen\` = ${m.unix_max_dgram_qlen ?? 'unknown'}.`,
    '',
    ...load,
    ...(report.cold_start ? [...renderColdStart(report.cold_start), ''] : []),
    '### Targets',
    '',
    tableRow(['target', 'measured', 'met']),
    tableRow(['---', '---:', ':---:']),
    ...report.targets.map((t) => tableRow([t.target, t.measured, t.met ? 'yes' : '**no**'])),
  ];
  const limited = report.rows.filter((r) => r.time_limited);
  if (limited.length)
    lines.push(
      '',
      `Cut short by the duration limit (${o.duration_limit_s} s in all, ${(o.row_limit_ms / 1000).toFixed(1)} s per row): ` +
        limited.map((r) => `${r.label} at ${r.inflight} in flight (${integer(r.connections)} connections)`).join('; ') +
        '.',
    );
  if (report.problems.length) lines.push('', '### Problems', '', ...report.problems.map((p) => `- ${p}`));
  return lines.join('\n') + '\n';
}
