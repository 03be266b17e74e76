/**
 * Reload memory check: RSS of a serving socketbox after 10,000
 * SIGHUP reloads must stay within 10 % of its RSS after 100. Each reload is
 * paced by waiting for its log line, so none is coalesced away.
 *
 *   node dist/load-tests/reload-memory.js [--reloads N] [--port P]
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { binPath } from '../testkit/project-root';
import { memoryKiB } from '../testkit/proc-status';
import { numberArg } from './cli-args';

const reloads = numberArg('--reloads', 10_000);
const port = numberArg('--port', 18_951);

/** A config of realistic size: 200 rules and a 500-entry map, with a changing target. */
function config(generation: number): string {
  const lines = ['max-rules:2', 'max-maps:1', 'rule-set:0', 'size:1000'];
  for (let i = 0; i < 200; i++) lines.push(`ip:2001:db8::${(i + 1).toString(16)} jump-unix:/run/skbox-bench/r${i}-${generation % 7}.sock`);
  lines.push('ip:2001:db8:1::/64 jump-map:0', 'map-set:0', 'size:1000', 'match-lip:128');
  for (let i = 0; i < 500; i++) lines.push(`ip:2001:db8:1::${(i + 1).toString(16)} jump-unix:/run/skbox-bench/m${i % 50}.sock`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-reload-mem-'));
  const conf = path.join(dir, 'socketbox.conf');
  fs.writeFileSync(conf, config(0));
  const server = spawn(binPath('socketbox'), ['-f', conf, '-l', '::1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let done = 0;
  let waiter: (() => void) | undefined;
  server.stderr.on('data', (d: Buffer) => {
    log += d.toString();
    const lines = log.split('\n');
    log = lines.pop() ?? '';
    for (const l of lines) {
      if (/reloaded /.test(l)) done++;
      else if (/error/.test(l)) process.stderr.write(`${l}\n`);
      if (/listening on|reloaded /.test(l)) waiter?.();
    }
  });
  const next = (): Promise<void> => new Promise((resolve) => (waiter = resolve));
  await next(); // listening
  const started = Date.now();
  let rssAt100 = 0;
  for (let i = 1; i <= reloads; i++) {
    fs.writeFileSync(conf, config(i));
    const reloaded = next();
    server.kill('SIGHUP');
    await reloaded;
    if (i === 100) rssAt100 = memoryKiB(server.pid as number, 'VmRSS');
  }
  const rssAtEnd = memoryKiB(server.pid as number, 'VmRSS');
  server.kill('SIGTERM');
  const ratio = rssAtEnd / rssAt100;
  const result = { reloads: done, seconds: (Date.now() - started) / 1000, rssAfter100KiB: rssAt100, rssAfterAllKiB: rssAtEnd, ratio: Number(ratio.toFixed(3)), withinTenPercent: ratio <= 1.1 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.withinTenPercent && done === reloads ? 0 : 1;
}

void main();
