/**
 * The server's native core under AddressSanitizer, UBSan and LeakSanitizer with real
 * sockets: test/native/server-harness.c runs accept loops on a real TCP listener with
 * receivers that are fast, slow, stalled, vanishing or missing, -U templates, a destination
 * cache smaller than the number of targets, reloads, descriptor floods at the receivers, a
 * stop while connections wait; the registrar with slot receivers and hostile API peers; the
 * -P intake with junk among the descriptors; a descriptor table that runs full; and
 * --source-rate with two loops sharing a table small enough to evict all the time. Every
 * run checks accepted = delivered + refused against what the clients saw, leaves no
 * descriptor open, and must exit 0 with no sanitizer report.
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseClassicConfig } from '../src/config/classic-parser';
import { parseJsonConfig } from '../src/config/json-parser';
import { compileTable } from '../src/table/compile';
import { compileJsonTable } from '../src/table/compile-json';
import { enterTestNetns } from '../testkit/netns';
import { REPORT, buildDir, buildSanitized, harnessSources, lastJsonLine, nativeSources, FASTPATH_OFF, runSanitized } from './helpers/sanitizer-build';

enterTestNetns();

const HARNESS = ['server-harness.c', 'harness_util.c', 'receivers.c', 'hostile_peers.c'];
const dir = fs.mkdtempSync(path.join(buildDir(), 'run-'));

/** Routes by the client's source address (the clients bind 127.0.0.N); see server-harness.c. */
function routesTable(): string {
  const lines = [
    'max-rules:1',
    'rule-set:0 size:8',
    `rip:::ffff:127.0.0.1 jump-unix:${dir}/fast.sock`,
    `rip:::1 jump-unix:${dir}/fast.sock`,
    `rip:::ffff:127.0.0.2 jump-unix:${dir}/slow.sock`,
    `rip:::ffff:127.0.0.3 jump-unix:${dir}/stall.sock`,
    `rip:::ffff:127.0.0.4 jump-unix:${dir}/missing.sock`,
    `rip:::ffff:127.0.0.5 jump-unix:${dir}/t-#//7_.sock`, // group 7 of the local address 127.0.1.N
    'rip:::ffff:127.0.0.6 fail',
    `rip:::ffff:127.0.0.7 jump-unix:${dir}/vanish.sock`,
  ];
  const file = path.join(dir, 'routes.tbl');
  fs.writeFileSync(file, compileTable(parseClassicConfig(lines.join('\n'), 'harness.conf'), { pathSubstitution: true }).bytes);
  return file;
}

function slotsTable(): string {
  const config = {
    'socketbox-version': 1,
    incoming: [{ address: '::', port: 1 }],
    paths: [{ socket: '@unused' }],
    outgoing: [0, 1, 2].map(() => ({ uid: 0, path_nr: 0 })),
    rules: {
      _start: {
        type: 'rule',
        rules: [
          { r_ip: '127.0.0.1', jump: 'o:0' },
          { r_ip: '::1', jump: 'o:0' },
          { r_ip: '127.0.0.2', jump: 'o:1' },
          { r_ip: '127.0.0.3', jump: 'o:2' },
        ],
      },
    },
  };
  const file = path.join(dir, 'slots.tbl');
  fs.writeFileSync(file, compileJsonTable(parseJsonConfig(JSON.stringify(config), 'harness.json')).bytes);
  return file;
}

let harness: string | undefined;
const build = (): string => (harness ??= buildSanitized('server-harness', [...harnessSources(...HARNESS), ...nativeSources('server', 'common'), ...FASTPATH_OFF]));

const scenarios: Array<{ name: string; args: () => string[]; connections: number; accessLog?: boolean }> = [
  { name: 'routes', args: () => ['routes', dir, routesTable(), '4', '0'], connections: 5500 },
  { name: 'routes with the JSON access log', args: () => ['routes', dir, routesTable(), '1', '2'], connections: 1420, accessLog: true },
  { name: 'registration slots and hostile API peers', args: () => ['slots', dir, slotsTable(), '2'], connections: 1500 },
  { name: '-P upstream intake with junk descriptors', args: () => ['upstream', dir, routesTable(), '2'], connections: 920 },
  { name: 'a full descriptor table (RLIMIT_NOFILE)', args: () => ['emfile', dir, routesTable()], connections: 150 },
  { name: '--source-rate: two loops share a small table, a flood limited, evictions', args: () => ['source-rate', dir, routesTable(), '1'], connections: 510 },
];

for (const s of scenarios) {
  t.test(`${s.name}: no sanitizer report, books balance, nothing left open`, async (t) => {
    const started = Date.now();
    const r = runSanitized(build(), s.args(), { timeoutMs: 90_000 });
    const figures = lastJsonLine(r.stdout);
    t.equal(r.error, undefined, 'the harness ran (and finished within 90 s)');
    t.equal(r.signal, null, 'no signal');
    t.equal(r.status, 0, `exit 0; ${JSON.stringify(figures)}`);
    t.notMatch(r.stderr, REPORT, 'no sanitizer report');
    const stderr = s.accessLog ? r.stderr.split('\n').filter((line) => !line.startsWith('{"time":')).join('\n') : r.stderr;
    t.equal(stderr.trim(), '', 'nothing else on stderr');
    t.equal(figures.connections, s.connections, 'every connection made got an outcome');
    if (s.accessLog) {
      const lines = r.stderr.split('\n').filter((line) => line.startsWith('{"time":'));
      // A line stderr cannot take at once is dropped and counted, never waited for.
      t.equal(lines.length + Number(figures.logLinesDropped), s.connections, 'one access log line per connection (written or counted as dropped)');
      t.ok(lines.every((line) => (JSON.parse(line) as { event?: unknown }).event === 'connection'), 'every line is valid JSON');
    }
    t.comment(`${s.name}: ${JSON.stringify(figures)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}
