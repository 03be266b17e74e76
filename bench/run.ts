// `npm run bench`: the floor, socketbox --workers 1 and socketbox --workers 2 -r (each
// dispatching to the C receiver) under the C load generator at each in-flight level, in one
// run. Writes bench/results/<timestamp>.json, latest.json, latest.md and latest.svg and prints
// the Markdown table. Exits 1 when a connection was lost or the counts disagree; the speed
// targets are reported, not enforced.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildBenchPrograms } from './build';
import { renderMarkdown } from './harness/markdown-table';
import { BENCH_USAGE, parseBenchOptions } from './harness/options';
import { projectRoot } from '../testkit/project-root';
import { runBenchmark } from './harness/run-benchmark';
import { writeResults } from './harness/write-results';

async function main(): Promise<number> {
  const root = projectRoot;
  let options;
  try {
    options = parseBenchOptions(process.argv.slice(2), path.join(root, 'bench', 'results'));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${BENCH_USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'src', 'main.js'))) {
    process.stderr.write('bench: dist/src/main.js is missing; run `npm run build` first\n');
    return 1;
  }
  const report = await runBenchmark({
    programs: buildBenchPrograms(),
    socketbox: path.join(root, 'bin', 'socketbox'),
    servers: options.servers,
    connections: options.connections,
    inflight: options.inflight,
    rounds: options.rounds,
    warmupConnections: options.warmupConnections,
    durationLimitS: options.durationLimitS,
    connectionTimeoutMs: options.connectionTimeoutMs,
    placement: options.placement,
    coldStartRounds: options.coldStartRounds,
  });
  const files = writeResults(report, options.outDir);
  process.stdout.write('\n' + renderMarkdown(report) + '\n');
  process.stdout.write(`Written: ${Object.values(files).map((f) => path.relative(process.cwd(), f)).join(', ')}\n`);
  if (report.problems.length) {
    process.stderr.write(`bench: ${report.problems.length} invariant(s) broken:\n${report.problems.map((p) => `  ${p}\n`).join('')}`);
    return 1;
  }
  return 0;
}

main().then(
  (status) => process.exit(status),
  (error: Error) => {
    process.stderr.write(`bench: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
