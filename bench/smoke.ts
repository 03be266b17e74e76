// A CI-sized benchmark (a few seconds): the floor and socketbox --workers 1 at 8 and 64 in
// flight. It checks invariants, not speed: nothing lost, socketbox's own accounting equal to
// what the load generator and the receiver saw, and well-formed JSON, Markdown and SVG.
//   node dist/bench/smoke.js [OUT_DIR]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBenchPrograms } from './build';
import type { Placement } from './harness/cpu-placement';
import { binPath } from '../testkit/project-root';
import type { BenchReport } from './harness/report';
import { runBenchmark } from './harness/run-benchmark';
import { writeResults, type ResultFiles } from './harness/write-results';

export interface SmokeOptions {
  /** Results go here (never bench/results); the C programs are built in its bin/. */
  outDir: string;
  connections?: number;
  inflight?: number[];
  placement?: Placement;
  log?: (line: string) => void;
}

export interface SmokeResult {
  report: BenchReport;
  files: ResultFiles;
}

export async function runSmoke(options: SmokeOptions): Promise<SmokeResult> {
  const report = await runBenchmark({
    programs: buildBenchPrograms(path.join(options.outDir, 'bin')),
    socketbox: binPath('socketbox'),
    servers: ['floor', 'socketbox-w1'],
    connections: options.connections ?? 2000,
    inflight: options.inflight ?? [8, 64],
    rounds: 1,
    warmupConnections: 200,
    durationLimitS: 60,
    connectionTimeoutMs: 5000,
    placement: options.placement ?? 'split',
    log: options.log ?? (() => undefined),
  });
  return { report, files: writeResults(report, options.outDir) };
}

/** Problems of an SVG document as plain XML: unbalanced tags or a bare '&' or '<' in text. */
export function svgProblems(svg: string): string[] {
  const problems: string[] = [];
  const text = svg.trim();
  if (!text.startsWith('<svg')) problems.push('does not start with <svg');
  if (!text.endsWith('</svg>')) problems.push('does not end with </svg>');
  const open: string[] = [];
  for (const m of text.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:[^>"]|"[^"]*")*?)(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) open.push(name);
    else if (open.pop() !== name) problems.push(`</${name}> closes the wrong element`);
  }
  if (open.length) problems.push(`unclosed elements: ${open.join(', ')}`);
  const outsideTags = text.replace(/<(?:[^>"]|"[^"]*")*>/g, '');
  if (/[<>]/.test(outsideTags)) problems.push('a bare < or > in text');
  if (/&(?!amp;|lt;|gt;|quot;|apos;|#\d+;)/.test(text)) problems.push('an unescaped &');
  return problems;
}

/** Problems of the Markdown report: it must hold a table with a header and a separator row. */
export function markdownProblems(markdown: string, rowCount: number): string[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((l) => l.startsWith('| server |'));
  if (header < 0) return ['no table header row'];
  const problems: string[] = [];
  const columns = lines[header].split('|').length;
  if (!/^\|( :?-{3,}:? \|)+$/.test(lines[header + 1] ?? '')) problems.push('no separator row under the header');
  const body = lines.slice(header + 2, header + 2 + rowCount);
  if (body.length !== rowCount || body.some((l) => !l.startsWith('|') || l.split('|').length !== columns))
    problems.push(`expected ${rowCount} table rows of ${columns - 2} cells`);
  return problems;
}

/** Every broken invariant of a smoke run; empty when it passed. */
export function smokeProblems({ report, files }: SmokeResult): string[] {
  const problems = [...report.problems];
  for (const row of report.rows) {
    if (row.completed !== row.connections) problems.push(`${row.label} at ${row.inflight}: ${row.completed} of ${row.connections} completed`);
  }
  const json = JSON.parse(fs.readFileSync(files.latestJson, 'utf8')) as BenchReport;
  if (json.rows?.length !== report.rows.length) problems.push('latest.json does not hold every row');
  problems.push(...markdownProblems(fs.readFileSync(files.markdown, 'utf8'), report.rows.length).map((p) => `latest.md: ${p}`));
  problems.push(...svgProblems(fs.readFileSync(files.svg, 'utf8')).map((p) => `latest.svg: ${p}`));
  return problems;
}

if (require.main === module) {
  const outDir = process.argv[2] ? path.resolve(process.argv[2]) : fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-bench-smoke-'));
  runSmoke({ outDir, log: (line) => process.stderr.write(line + '\n') }).then(
    (result) => {
      const problems = smokeProblems(result);
      process.stdout.write(`smoke results in ${outDir}\n`);
      for (const p of problems) process.stdout.write(`FAIL ${p}\n`);
      process.stdout.write(problems.length ? `${problems.length} problem(s)\n` : 'all invariants hold\n');
      process.exit(problems.length ? 1 : 0);
    },
    (error: Error) => {
      process.stderr.write(`smoke: ${error.stack ?? error.message}\n`);
      process.exit(1);
    },
  );
}
