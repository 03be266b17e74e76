/**
 * Metrics and health, end to end in a private network namespace:
 * after a load run the scraped counters equal what the clients and receivers
 * counted, the accounting invariant holds, the text parses as Prometheus
 * exposition format; reloads, worker restarts and /healthz show up.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../testkit/wait';
import { waitForListening } from '../testkit/proc-tcp';
import { enterTestNetns } from '../testkit/netns';
import { Child, stopAll } from '../testkit/child';
import { SOCKETBOX } from '../testkit/socketbox';
import { startDrainReceiver, stopDrainReceiver } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';
import { scrape, sum, value } from './helpers/metrics';

enterTestNetns();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-metrics-'));
const HOSTS = Array.from({ length: 8 }, (_, i) => `2001:db8::${i + 1}`);

const startDrain = (name: string, hold = false): Promise<Child> => startDrainReceiver(path.join(dir, `${name}.sock`), name, { hold });
const drainCount = async (c: Child): Promise<number> => (await stopDrainReceiver(c)).count;

function startServer(args: string[]): Child {
  return new Child(spawn(SOCKETBOX, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SOCKETBOX_TEST_CONTROL: '1' } }));
}

const config = (a: string, b: string): string =>
  `max-rules:1\nrule-set:0\nsize:3\nip:2001:db8::1 jump-unix:${path.join(dir, `${a}.sock`)}\nip:2001:db8::/125 jump-unix:${path.join(dir, `${b}.sock`)}\n`;

t.test('counters after a load run equal what clients and receivers saw', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const [one, rest] = [await startDrain('one'), await startDrain('rest')];
  children.push(one, rest);
  const conf = path.join(dir, 'metrics.conf');
  fs.writeFileSync(conf, config('one', 'rest'));
  const port = 8801;
  const metricsPort = 9801;
  const server = startServer(['--workers', '2', '--metrics', String(metricsPort), '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  // 2001:db8::8 is outside the /125: those connections are no_match.
  const load = await runLoad({ hosts: HOSTS, port, connections: 4000, inFlight: 64 });
  const families = await scrape(metricsPort);
  const accepted = sum(families, 'socketbox_connections_accepted_total');
  const delivered = sum(families, 'socketbox_connections_delivered_total');
  const refused = sum(families, 'socketbox_connections_refused_total');
  t.equal(accepted, 4000, 'accepted = connections the generator made');
  t.equal(accepted, delivered + refused, 'accepted = delivered + Σ refused');
  t.equal(delivered, load.delivered, 'delivered = what the clients got answered');
  t.equal(value(families, 'socketbox_connections_refused_total', { reason: 'no_match' }), load.refused, `refused{no_match} = what the clients saw closed (${JSON.stringify(families.find((f) => f.name === 'socketbox_connections_refused_total'))})`);
  t.equal(load.refused, 500, 'one address in eight matched nothing');
  const perWorker = families.find((f) => f.name === 'socketbox_connections_accepted_total')?.metrics ?? [];
  t.equal(perWorker.length, 2, 'accepted is reported per worker');
  t.equal(value(families, 'socketbox_connections_pending', { target: `unix:${path.join(dir, 'one.sock')}` }), 0, 'nothing pending after the run');
  const latency = families.find((f) => f.name === 'socketbox_dispatch_latency_seconds')?.metrics[0] as { count?: string; buckets?: Record<string, string> } | undefined;
  t.equal(Number(latency?.count), delivered, 'one latency observation per delivered connection');
  t.equal(Number(latency?.buckets?.['+Inf']), delivered, 'the +Inf bucket holds them all');
  t.equal(families.find((f) => f.name === 'socketbox_dispatch_latency_seconds')?.type, 'HISTOGRAM', 'latency is a histogram');
  t.ok(families.some((f) => f.name === 'process_cpu_user_seconds_total'), 'prom-client default process metrics are there');
  t.equal(value(families, 'socketbox_connections_delivered_total', { target: `unix:${path.join(dir, 'one.sock')}` }), await drainCount(one), 'delivered{one} = what receiver one counted');
  t.equal(value(families, 'socketbox_connections_delivered_total', { target: `unix:${path.join(dir, 'rest.sock')}` }), await drainCount(rest), 'delivered{rest} = what receiver rest counted');
});

t.test('reloads, worker restarts and /healthz show up', async (t) => {
  const children: Child[] = [];
  t.teardown(() => stopAll(children));
  const held = await startDrain('held', true);
  children.push(held);
  const conf = path.join(dir, 'reload.conf');
  fs.writeFileSync(conf, config('held', 'held'));
  const port = 8802;
  const metricsPort = 9802;
  const server = startServer(['--workers', '2', '--drain-timeout', '20s', '--metrics', `127.0.0.1:${metricsPort}`, '-f', conf, '-l', '::', '-p', String(port)]);
  children.push(server);
  await waitForListening(port);
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 200, '/healthz is 200 while serving');

  let families = await scrape(metricsPort);
  t.equal(value(families, 'socketbox_config_generation'), 1, 'generation 1 at start');
  server.proc.kill('SIGHUP');
  await waitFor('the reload', () => /reloaded /.test(server.stderr));
  fs.writeFileSync(conf, 'max-rules:1\nrule-set:0\nip:2001:db8::1 fail\n');
  server.proc.kill('SIGHUP');
  await waitFor('the failed reload', () => /reload failed/.test(server.stderr));
  families = await scrape(metricsPort);
  t.equal(value(families, 'socketbox_config_reloads_total', { result: 'success' }), 1, 'one successful reload');
  t.equal(value(families, 'socketbox_config_reloads_total', { result: 'failure' }), 1, 'one failed reload');
  t.equal(value(families, 'socketbox_config_generation'), 2, 'generation 2');

  server.proc.kill('SIGURG');
  await waitFor('the worker restart', () => /restarting it/.test(server.stderr));
  families = await scrape(metricsPort);
  t.equal(value(families, 'socketbox_worker_restarts_total'), 1, 'the restart is counted');

  // Connections waiting for the held receiver keep the server draining after SIGTERM.
  const load = runLoad({ hosts: ['2001:db8::1'], port, connections: 30, inFlight: 30, timeoutMs: 30_000 });
  await new Promise((r) => setTimeout(r, 500));
  families = await scrape(metricsPort);
  t.ok(sum(families, 'socketbox_connections_pending') > 0, 'connections pending for the held receiver');
  server.proc.kill('SIGTERM');
  await waitFor('the stop to begin', () => /stopping/.test(server.stderr));
  t.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 503, '/healthz is 503 while draining');
  held.proc.kill('SIGUSR1');
  t.equal((await load).delivered, 30, 'the waiting connections were delivered during the drain');
  t.equal(await server.wait(), 0);
});
