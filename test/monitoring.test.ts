/**
 * Monitoring with the real tools: the real Prometheus server scrapes socketbox's
 * /metrics in a private network namespace and its HTTP API reports exactly what the
 * clients saw; the alerting rules in monitoring/ pass `promtool check rules` and
 * their `promtool test rules` unit tests, and one of them goes pending on live data;
 * every metric the Grafana dashboard queries is one socketbox really serves.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { projectRoot } from '../testkit/project-root';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX } from '../testkit/socketbox';
import { startDrainReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';

enterTestNetns();

const MONITORING = path.join(projectRoot, 'monitoring');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-monitoring-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const PORT = 8811;
const METRICS_PORT = 9811;
const PROMETHEUS_PORT = 9090;

function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: MONITORING, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new Error(`promtool could not run (Debian package prometheus): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

t.test('promtool check rules accepts every alerting rule', async (t) => {
  const r = promtool(['check', 'rules', 'socketbox-alerts.yml']);
  t.equal(r.status, 0, r.output);
  t.match(r.output, /SUCCESS: 6 rules found/);
});

t.test('promtool test rules: each alert fires on its synthetic series (and stays quiet otherwise)', async (t) => {
  const r = promtool(['test', 'rules', 'socketbox-alerts.test.yml']);
  t.equal(r.status, 0, r.output);
  t.match(r.output, /SUCCESS/);
  // Every alert of the rules file is exercised by the unit tests.
  const alerts = [...fs.readFileSync(path.join(MONITORING, 'socketbox-alerts.yml'), 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
  const tests = fs.readFileSync(path.join(MONITORING, 'socketbox-alerts.test.yml'), 'utf8');
  t.equal(alerts.length, 6);
  for (const a of alerts) t.match(tests, new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${a} is tested firing`);
});

interface QueryResult {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<QueryResult[]> {
  const res = await fetch(`http://127.0.0.1:${PROMETHEUS_PORT}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data: { result: QueryResult[] } };
  if (body.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
  return body.data.result;
}

const scalar = async (expr: string): Promise<number | undefined> => {
  const r = await query(expr);
  return r.length === 1 ? Number(r[0].value[1]) : undefined;
};

/** Polls an async condition every 200 ms (a failed query counts as not yet), bounded. */
const eventually = (what: string, cond: () => Promise<boolean>, timeoutMs: number): Promise<void> =>
  waitFor(what, () => cond().catch(() => false), timeoutMs, 200);

/** The metric names a /metrics text serves, with a histogram's _bucket/_sum/_count series. */
function servedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]);
    if (m[2] === 'histogram') ['_bucket', '_sum', '_count'].forEach((s) => names.add(m[1] + s));
  }
  return names;
}

t.test('the real Prometheus scrapes socketbox: accepted, delivered and refused as the clients saw them', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const receiver = await startDrainReceiver(path.join(dir, 'web.sock'), 'web');
  children.push(receiver);
  const conf = path.join(dir, 'socketbox.conf');
  // ::1 is served, ::2 is refused by the rules (fail), ::3's receiver does not exist (target_missing).
  fs.writeFileSync(
    conf,
    `max-rules:1\nrule-set:0\nsize:3\nip:2001:db8::1 jump-unix:${dir}/web.sock\nip:2001:db8::2 fail\nip:2001:db8::3 jump-unix:${dir}/missing.sock\n`,
  );
  const server = new Child(
    spawn(SOCKETBOX, ['--workers', '2', '--metrics', `127.0.0.1:${METRICS_PORT}`, '-f', conf, '-l', '::', '-p', String(PORT)], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  children.push(server);
  await waitForListening(PORT);

  const promConfig = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(
    promConfig,
    [
      'global:',
      '  scrape_interval: 500ms',
      '  scrape_timeout: 400ms',
      '  evaluation_interval: 500ms',
      'rule_files:',
      `  - ${path.join(MONITORING, 'socketbox-alerts.yml')}`,
      'scrape_configs:',
      '  - job_name: socketbox',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${METRICS_PORT}']`,
      '',
    ].join('\n'),
  );
  const prometheus = new Child(
    spawn(
      'prometheus',
      [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  children.push(prometheus);
  await eventually(`Prometheus to be ready; ${prometheus.stderr}`, async () => (await fetch(`http://127.0.0.1:${PROMETHEUS_PORT}/-/ready`)).status === 200, 30_000);
  await eventually('the first successful scrape of socketbox', async () => (await scalar('up{job="socketbox"}')) === 1, 20_000);

  const N = 400;
  const hosts = ['2001:db8::1', '2001:db8::1', '2001:db8::2', '2001:db8::3'];
  const load = await runLoad({ hosts, port: PORT, connections: N, inFlight: 16 });
  t.equal(load.delivered, N / 2, 'the clients got an answer on half of the connections');
  t.equal(load.refused, N / 2, 'and were refused on the other half');

  await eventually(`Prometheus to see ${N} accepted`, async () => (await scalar('sum(socketbox_connections_accepted_total)')) === N, 20_000);
  t.equal(await scalar('sum(socketbox_connections_accepted_total)'), N, `Prometheus: exactly ${N} accepted`);
  t.equal(await scalar('sum(socketbox_connections_delivered_total)'), N / 2, 'Prometheus: delivered = what the clients got answered');
  const delivered = new Map((await query('sum by (target) (socketbox_connections_delivered_total) > 0')).map((r) => [r.metric.target, Number(r.value[1])]));
  t.same(Object.fromEntries(delivered), { [`unix:${dir}/web.sock`]: N / 2 }, 'all of them to the one receiver');
  const refused = new Map((await query('sum by (reason) (socketbox_connections_refused_total) > 0')).map((r) => [r.metric.reason, Number(r.value[1])]));
  t.same(Object.fromEntries(refused), { fail: N / 4, target_missing: N / 4 }, 'Prometheus: the refusals split by reason as the rules say');
  t.equal((await stopDrainReceiver(receiver)).count, N / 2, 'the receiver counted the delivered ones');

  // The alerting rules run on the live series: the missing receiver shows (pending for 2 minutes first).
  await eventually('SocketboxReceiverMissing to go pending on the target_missing refusals', async () => {
      const res = (await (await fetch(`http://127.0.0.1:${PROMETHEUS_PORT}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
      return res.data.alerts.some((a) => a.labels.alertname === 'SocketboxReceiverMissing' && a.labels.reason === 'target_missing');
    }, 20_000
  );
  t.pass('SocketboxReceiverMissing is pending for reason target_missing');

  t.test('every metric the Grafana dashboard queries is served by socketbox', async (t) => {
    const dashboard = JSON.parse(fs.readFileSync(path.join(MONITORING, 'grafana-dashboard.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const served = servedNames(await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text());
    const queried = new Set<string>();
    for (const panel of dashboard.panels)
      for (const target of panel.targets) for (const m of target.expr.matchAll(/\b((?:socketbox|process)_[a-z_]+)\b/g)) queried.add(m[1]);
    t.ok(queried.size >= 15, `the dashboard queries ${queried.size} metrics`);
    for (const name of queried) t.ok(served.has(name), `${name} is served`);
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const topic of [/by target/, /by reason/, /latency/i, /Waiting/, /reloads/i]) t.match(titles, topic, `a panel for ${topic.source}`);
  });
});
