// The latency breakdown (bench/latency-breakdown.ts, `npm run bench:latency`) at CI size: one
// round of 500 connections at 1 in flight per subject. Every connection is matched across the
// load generator, the receiver and socketbox's access log, and its parts are consistent with
// its end-to-end time. Then the join itself, on made-up times. Speed is not judged.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildBenchPrograms } from '../bench/build';
import { accessLogLatencies, renderBreakdown, runLatencyBreakdown, splitConnections } from '../bench/latency-breakdown';

t.test('one round of each subject: every connection timed at all four points', async (t) => {
  const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-latency-bin-'));
  t.teardown(() => fs.rmSync(binDir, { recursive: true, force: true }));
  const o = { connections: 500, inflights: [1], rounds: 1 };
  const rounds = await runLatencyBreakdown(buildBenchPrograms(binDir), o, { loadgen: null, servers: null }, () => undefined);
  t.same(rounds.map((r) => r.subject).sort(), ['adaptive', 'batch', 'floor', 'other'], 'a round of every subject');
  for (const r of rounds) {
    t.equal(r.connections, 500, `${r.subject}: 500 connections completed`);
    // socketbox's access log drops a line rather than block when its reader (this process)
    // lags, so a loaded machine may leave a few unmatched; the floor's need no access log.
    if (r.subject === 'floor') t.equal(r.matched, 500, 'floor: every connection timed');
    else t.ok(r.matched >= 450 && r.matched <= 500, `${r.subject}: ${r.matched} of 500 connections matched at all four points`);
    const e = r.parts.end_to_end!;
    t.ok(e.p50_us > 0 && e.p50_us <= e.p99_us, `${r.subject}: end to end p50 ${e.p50_us} ≤ p99 ${e.p99_us} µs`);
    if (r.subject === 'floor') {
      t.same(Object.keys(r.parts), ['end_to_end'], 'the floor has only its end-to-end time');
      continue;
    }
    const { before_send: before, in_socketbox: own, after_receiver: after } = r.parts;
    t.ok(before && own && after, `${r.subject}: every part measured`);
    t.ok(own!.p50_us >= 0 && before!.p50_us > 0 && after!.p50_us > 0, `${r.subject}: the parts are positive`);
    t.ok(own!.p50_us < e.p50_us && after!.p50_us < e.p50_us, `${r.subject}: each part's median is below the whole's`);
  }
  const md = renderBreakdown(rounds, o, { loadgen: null, servers: null });
  t.equal(md.split('\n').filter((l) => l.startsWith('| 1 |')).length, 4, 'the Markdown table has a row per subject');
});

t.test('the join: by client port, in order, warm-up and refusals left out', async (t) => {
  const log = [
    'socketbox: listening on …',
    '{"time":"x","event":"connection","remote":"[::1]:5000","local":"[::1]:80","target":"t","outcome":"delivered","latency_us":99}',
    '{"time":"x","event":"connection","remote":"[::1]:5001","local":"[::1]:80","target":"t","outcome":"delivered","latency_us":7}',
    '{"time":"x","event":"connection","remote":"[::1]:5002","local":"[::1]:80","target":"t","outcome":"timeout","latency_us":0}',
    '{"time":"x","event":"connection","remote":"[::1]:5001","local":"[::1]:80","target":"t","outcome":"delivered","latency_us":9}',
  ].join('\n');
  const own = accessLogLatencies(log, 1);
  t.same([...own], [[5001, [7, 9]]], 'the first line is the warm-up; a refusal is no hand-off');
  // Port 5001 twice: connect at 1,000,000 and 3,000,000 ns; the receiver saw a warm-up arrival first.
  const client = new Map([[5001, [[1_000_000, 1_050_000], [3_000_000, 3_080_000]]]]);
  const arrivals = new Map([[5001, [[500_000], [1_030_000], [3_040_000]]]]);
  const parts = splitConnections(client, arrivals, own);
  t.same(parts.end_to_end, [50, 80], 'end to end per connection, µs');
  t.same(parts.in_socketbox, [7, 9], "socketbox's part from its access log");
  t.same(parts.before_send, [30 - 7, 40 - 9], 'connect to arrival, less socketbox’s part');
  t.same(parts.after_receiver, [20, 40], 'arrival to the byte at the client');
});
