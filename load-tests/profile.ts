/**
 * npm run profile [doctor|flame] [--seconds S] [--out DIR]: profiles socketbox's main
 * process (the JavaScript side: start-up, metrics, reloads, supervision)
 * with clinic while a load generator drives connections through it, then
 * writes clinic's HTML report under .clinic/. Loopback only, bounded in time.
 * The per-connection path is native and shows up as time outside JavaScript.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { numberArg, stringArg } from './cli-args';
import { projectRoot } from '../testkit/project-root';
import { waitForListening } from '../testkit/proc-tcp';
import { FD_TOOL } from '../testkit/fd-tool';
import { runLoad } from '../testkit/load-generator';

const args = process.argv.slice(2);
const tool = args[0] === 'flame' ? 'flame' : 'doctor';
const seconds = numberArg('--seconds', 15);
const port = 18_311; // with --metrics on 18312
const clinicDir = path.resolve(stringArg('--out', path.join(projectRoot, '.clinic')));

async function main(): Promise<void> {
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-profile-'));
  const sock = path.join(dir, 'sink.sock');
  const receiver = spawn('python3', [FD_TOOL, 'drain', sock, 'sink'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => receiver.stdout.once('data', r));
  const clinic = path.join(projectRoot, 'node_modules', '.bin', 'clinic');
  const profiled = spawn(
    clinic,
    [tool, '--dest', clinicDir, '--', process.execPath, path.join(projectRoot, 'dist', 'src', 'main.js'), '--metrics', '127.0.0.1:18312', '-S', sock, '-l', '::1', '-p', String(port)],
    // NO_INSIGHT: clinic would otherwise ask (and, without a terminal, quietly quit) about usage statistics.
    { stdio: ['inherit', 'inherit', 'pipe'], cwd: projectRoot, detached: true, env: { ...process.env, NO_INSIGHT: '1', NO_UPDATE_NOTIFIER: '1' } },
  );
  // clinic's messages pass through; an analysis that fails says so there, not in the exit status.
  let clinicErrors = '';
  profiled.stderr?.on('data', (d: Buffer) => {
    process.stderr.write(d);
    clinicErrors += d.toString();
  });
  try {
    await waitForListening(port, 30_000);
  } catch (err) {
    // Bounded: nothing is left running when socketbox never came up.
    process.kill(-(profiled.pid as number), 'SIGKILL');
    receiver.kill('SIGTERM');
    throw err;
  }
  const deadline = Date.now() + seconds * 1000;
  let total = 0;
  const scraper = setInterval(() => void fetch('http://127.0.0.1:18312/metrics').catch(() => undefined), 100);
  while (Date.now() < deadline) {
    const r = await runLoad({ hosts: ['::1'], port, connections: 2000, inFlight: 32 });
    total += r.delivered;
  }
  clearInterval(scraper);
  process.stdout.write(`profile: ${total} connections in ${seconds} s; stopping socketbox, clinic writes its report\n`);
  // Ctrl+C as a terminal sends it: SIGINT to clinic's whole process group, so
  // socketbox stops gracefully and clinic (or 0x, for flame) then analyses.
  process.kill(-(profiled.pid as number), 'SIGINT');
  await new Promise((r) => profiled.once('exit', r));
  receiver.kill('SIGTERM');
  // clinic reports a failed analysis on stderr but may still exit 0: check for the report itself.
  const reports = fs.existsSync(clinicDir) ? fs.readdirSync(clinicDir).filter((f) => f.endsWith(`.clinic-${tool}.html`)) : [];
  const fresh = reports.map((f) => path.join(clinicDir, f)).filter((f) => fs.statSync(f).mtimeMs >= started);
  if (/^Error\b|\bError: /m.test(clinicErrors)) {
    process.stderr.write(`profile: clinic ${tool} reported an error (above)\n`);
    process.exitCode = 1;
    return;
  }
  if (fresh.length === 0) {
    process.stderr.write(`profile: clinic ${tool} wrote no report under ${clinicDir}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`profile: report ${fresh[0]}\n`);
}

void main();
