// The benchmark harness at CI size: builds its own C programs, runs the floor and
// socketbox --workers 1 at 8 and 64 in flight into a temporary directory, and checks
// invariants only: nothing lost, every count agreeing, well-formed JSON, Markdown and SVG.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { allowedCpus, cpuSetsFor, parseCpuList } from '../bench/harness/cpu-placement';
import type { BenchReport } from '../bench/harness/report';
import { markdownProblems, runSmoke, svgProblems } from '../bench/smoke';

const CONNECTIONS = 2000;

t.test('bench smoke run', async (t) => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-bench-smoke-'));
  t.teardown(() => fs.rmSync(outDir, { recursive: true, force: true }));
  const { report, files } = await runSmoke({ outDir, connections: CONNECTIONS, inflight: [8, 64] });

  t.test('the load generator and the servers ran on the CPUs of the split placement', async (t) => {
    const expected = cpuSetsFor('split', allowedCpus());
    t.same(report.options.cpus, expected, 'the report says where everything ran');
    for (const row of report.rows) {
      const where = `${row.server}@${row.inflight}`;
      if (expected.placement === 'split') {
        t.same(row.cpus.loadgen, parseCpuList(expected.loadgen!), `${where}: load generator`);
        t.same(row.cpus.server, parseCpuList(expected.servers!), `${where}: server`);
        if (row.server !== 'floor') t.same(row.cpus.receiver, parseCpuList(expected.servers!), `${where}: receiver`);
        t.notOk(row.cpus.server.includes(row.cpus.loadgen[0]), `${where}: no CPU shared with the load generator`);
      } else {
        t.same(row.cpus.loadgen, allowedCpus(), `${where}: one CPU only, nothing to split`);
      }
    }
  });

  t.test('one row per server and level', async (t) => {
    t.same(
      report.rows.map((r) => `${r.server}@${r.inflight}`),
      ['floor@8', 'socketbox-w1@8', 'floor@64', 'socketbox-w1@64'],
    );
  });

  for (const row of report.rows) {
    t.test(`${row.label} at ${row.inflight} in flight`, async (t) => {
      t.equal(row.connections, CONNECTIONS, 'every connection started (no duration limit hit)');
      t.equal(row.completed, CONNECTIONS, 'every connection got its byte');
      t.equal(row.lost, 0, `nothing lost: ${JSON.stringify(row.failed)}`);
      t.equal(row.warmup_lost, 0, 'nothing lost in the warm-up');
      const { loadgenCompleted, server } = row.accounting;
      t.equal(server.writeFailed, 0, 'every byte was written');
      if (row.server === 'floor') {
        t.equal(server.accepted, loadgenCompleted, 'the floor accepted exactly what the load generator completed');
      } else {
        t.equal(server.accepted, server.delivered! + server.refused!, 'socketbox: accepted = delivered + refused');
        t.equal(server.refused, 0, `socketbox refused nothing (${server.refusedReasons ?? 'no reasons'})`);
        t.equal(server.delivered, loadgenCompleted, 'socketbox delivered exactly what the load generator completed');
        t.equal(server.received, server.delivered, 'the receiver got every delivered connection');
        t.type(row.receiver_cpu_us_per_conn, 'number');
      }
      t.same(row.accounting.mismatches, []);
      t.ok(row.rate_per_s > 0 && row.p50_us <= row.p99_us && row.p99_us <= row.p999_us, 'sane rate and percentiles');
      t.ok(row.peak_rss_kib > 0, 'peak RSS read');
    });
  }

  t.test('outputs are written to the temporary directory and well-formed', async (t) => {
    for (const file of Object.values(files)) t.equal(path.dirname(file), outDir, `${path.basename(file)} in the temp dir`);
    const json = JSON.parse(fs.readFileSync(files.json, 'utf8')) as BenchReport;
    t.same(json, JSON.parse(fs.readFileSync(files.latestJson, 'utf8')), 'latest.json is the timestamped report');
    t.equal(json.rows.length, 4);
    t.same(json.problems, report.problems, 'latest.json carries the same problems');
    const markdown = fs.readFileSync(files.markdown, 'utf8');
    t.match(markdown, /^\| server \| in flight \| conn\/s \|/m, 'the table has its header row');
    t.same(markdownProblems(markdown, 4), []);
    const svg = fs.readFileSync(files.svg, 'utf8');
    t.ok(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'), 'starts with <svg and ends with </svg>');
    t.same(svgProblems(svg), []);
  });

  t.test('the SVG check catches broken documents', async (t) => {
    t.not(svgProblems('<svg><g></svg>').length, 0);
    t.not(svgProblems('<svg><text>a & b</text></svg>').length, 0);
    t.same(svgProblems('<svg><g><rect/></g><text>a &amp; b</text></svg>'), []);
  });
});

t.test('bench smoke run with --placement shared', async (t) => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-bench-shared-'));
  t.teardown(() => fs.rmSync(outDir, { recursive: true, force: true }));
  const { report } = await runSmoke({ outDir, connections: 500, inflight: [8], placement: 'shared' });
  t.same(report.options.cpus, { placement: 'shared', loadgen: null, servers: null });
  for (const row of report.rows) {
    t.equal(row.lost + row.warmup_lost, 0, `${row.server}: nothing lost`);
    t.same(row.accounting.mismatches, [], `${row.server}: counts agree`);
    t.same(row.cpus.loadgen, allowedCpus(), `${row.server}: the load generator may use every CPU`);
    t.same(row.cpus.server, allowedCpus(), `${row.server}: the server may use every CPU`);
  }
});
