/**
 * npm run load-test: a bounded soak of socketbox in a private network
 * namespace. Mixed targets (fast, slow, one that dies and comes back, one
 * that never exists), a config reload every second with a changing config,
 * a worker killed every 10 s, continuous load. At the end it checks the
 * accounting against what the load generator and the receivers saw, the
 * descriptor count and RSS growth, prints a summary table, and exits 1 if
 * any check failed.
 *
 *   node dist/load-tests/soak.js [--duration S] [--workers N] [--inflight C] [--port P]
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { binPath } from '../testkit/project-root';
import { fdCount } from '../testkit/proc-fds';
import { memoryKiB } from '../testkit/proc-status';
import { waitForListening } from '../testkit/proc-tcp';
import { enterPrivateNetns } from '../testkit/netns';
import { FD_TOOL } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';
import { numberArg } from './cli-args';

const durationS = numberArg('--duration', 60);
const workers = numberArg('--workers', 2);
const inFlight = numberArg('--inflight', 64);
const port = numberArg('--port', 8080);
const HOSTS = Array.from({ length: 64 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`);

interface Receiver {
  name: string;
  rate: number;
  proc?: ChildProcess;
  counted: number; // reported by receivers that exited
  deaths: number;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-soak-'));
const sockPath = (name: string): string => path.join(dir, `${name}.sock`);

function startReceiver(r: Receiver): Promise<void> {
  const proc = spawn('python3', [FD_TOOL, 'drain', sockPath(r.name), r.name, String(r.rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
  r.proc = proc;
  let out = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const line of out.split('\n').slice(0, -1)) {
      const e = JSON.parse(line) as { count?: number };
      if (typeof e.count === 'number') r.counted += e.count;
    }
    out = out.slice(out.lastIndexOf('\n') + 1);
  });
  return new Promise((resolve) => proc.stdout.once('data', () => resolve()));
}

function stopReceiver(r: Receiver): Promise<void> {
  const proc = r.proc;
  r.proc = undefined;
  if (!proc) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

/** Two configs that send the 64 addresses to the receivers in different ways. */
function config(generation: number): string {
  const order = generation % 2 ? ['fast', 'slow', 'flaky', 'absent'] : ['slow', 'fast', 'absent', 'flaky'];
  const lines = ['max-rules:1', 'max-maps:1', 'rule-set:0', 'size:10', 'ip:2001:db8::/121 jump-map:0', 'map-set:0', 'size:100', 'match-lip:128'];
  HOSTS.forEach((h, i) => {
    // most addresses to fast/slow, a few to flaky, one to a receiver that never exists
    const target = i === 63 ? order[3] : i % 16 === 5 ? order[2] : order[i % 2];
    lines.push(`ip:${h} jump-unix:${sockPath(target)}`);
  });
  lines.push('default fail');
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  enterPrivateNetns();
  const receivers: Receiver[] = ['fast', 'slow', 'flaky'].map((name) => ({ name, rate: name === 'slow' ? 1500 : 0, counted: 0, deaths: 0 }));
  await Promise.all(receivers.map(startReceiver));
  const conf = path.join(dir, 'socketbox.conf');
  fs.writeFileSync(conf, config(0));
  const server = spawn(binPath('socketbox'), ['--workers', String(workers), '--dispatch-timeout', '1s', '-f', conf, '-l', '::', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SOCKETBOX_TEST_CONTROL: '1' },
  });
  let log = '';
  server.stderr.on('data', (d: Buffer) => (log += d.toString()));
  await waitForListening(port);
  const pid = server.pid as number;

  const deadline = Date.now() + durationS * 1000;
  let generation = 0;
  let kills = 0;
  const reloader = setInterval(() => {
    fs.writeFileSync(conf, config(++generation));
    server.kill('SIGHUP');
  }, 1000);
  const killer = setInterval(() => {
    kills++;
    server.kill('SIGURG');
  }, 10_000);
  const flaky = receivers[2];
  const flakyCycle = setInterval(() => {
    if (flaky.proc) {
      flaky.deaths++;
      void stopReceiver(flaky);
    } else {
      void startReceiver(flaky);
    }
  }, 3500);

  let made = 0;
  let answered = 0;
  let closed = 0;
  let baselineFds = 0;
  let baselineRss = 0;
  while (Date.now() < deadline) {
    const batch = await runLoad({ hosts: HOSTS, port, connections: 2000, inFlight, timeoutMs: 10_000 });
    made += 2000;
    answered += batch.delivered;
    closed += batch.refused;
    if (!baselineRss && Date.now() > deadline - durationS * 900) {
      baselineRss = memoryKiB(pid, 'VmRSS');
      baselineFds = fdCount(pid);
    }
  }
  clearInterval(reloader);
  clearInterval(killer);
  clearInterval(flakyCycle);
  if (!flaky.proc) await startReceiver(flaky);
  await new Promise((r) => setTimeout(r, 1500)); // let waiting connections settle
  const endFds = fdCount(pid);
  const endRss = memoryKiB(pid, 'VmRSS');
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await Promise.all(receivers.map(stopReceiver));

  const m = /accepted (\d+), delivered (\d+), refused (\d+)(?: \(([^)]*)\))?/.exec(log);
  const [accepted, delivered, refused] = (m ?? []).slice(1, 4).map(Number);
  const receiverTotal = receivers.reduce((n, r) => n + r.counted, 0);
  const deaths = flaky.deaths;
  const checks: Array<[string, boolean, string]> = [
    ['accepted = delivered + Σ refused', accepted === delivered + refused, `${accepted} = ${delivered} + ${refused}`],
    ['accepted = connections made', accepted === made, `${accepted} vs ${made}`],
    ['answered = counted by receivers', answered === receiverTotal, `${answered} vs ${receiverTotal}`],
    // A receiver stopped with descriptors in its queue loses them after delivery.
    ['delivered − answered ≤ 11 per receiver death', delivered - answered >= 0 && delivered - answered <= 11 * deaths, `${delivered - answered} (deaths ${deaths})`],
    ['no descriptor leak', endFds <= baselineFds + 4, `${baselineFds} → ${endFds}`],
    ['RSS growth under 10 %', endRss <= baselineRss * 1.1, `${baselineRss} → ${endRss} KiB`],
  ];
  const rows = [
    ['duration', `${durationS} s`],
    ['workers', String(workers)],
    ['connections', String(made)],
    ['answered / closed (client view)', `${answered} / ${closed}`],
    ['refusals (server view)', m?.[4] ?? 'none'],
    ['reloads / worker kills / receiver deaths', `${generation} / ${kills} / ${deaths}`],
    ['worker restarts logged', String((log.match(/restarting it/g) ?? []).length)],
  ];
  process.stdout.write('\n| measure | value |\n|---|---|\n');
  for (const [k, v] of rows) process.stdout.write(`| ${k} | ${v} |\n`);
  process.stdout.write('\n| check | result | detail |\n|---|---|---|\n');
  for (const [name, ok, detail] of checks) process.stdout.write(`| ${name} | ${ok ? 'ok' : 'FAILED'} | ${detail} |\n`);
  process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
}

void main();
