// The probe daemon (preload-probe.c) run under bin/run-with-socketbox: the test sends it socket
// calls one line at a time and reads back what each returned, with errno and flags.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { waitFor } from '../../testkit/wait';
import { projectRoot } from '../../testkit/project-root';

/**
 * The launcher the preload tests run daemons under. SOCKETBOX_TEST_PRELOAD_ROOT names
 * another package root (bin/run-with-socketbox + build/Release/libsocketbox-preload.so):
 * test/preload-sanitize.test.ts runs every preload test again with a sanitized library.
 */
export const runWithSocketbox = path.join(process.env.SOCKETBOX_TEST_PRELOAD_ROOT ?? projectRoot, 'bin', 'run-with-socketbox');

/** One JSON answer (or event) of the probe. */
export type Reply = Record<string, unknown> & { rv?: number; errno?: string };

let builtProbe: string | undefined;

/** Compiles the probe once per test process into a temporary directory. */
export function probeExecutable(): string {
  if (!builtProbe) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbox-probe-'));
    const output = path.join(dir, 'preload-probe');
    execFileSync('cc', ['-O1', '-pthread', '-o', output, path.join(__dirname, 'preload-probe.c')], { stdio: 'inherit' });
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    builtProbe = output;
  }
  return builtProbe;
}

export class Probe {
  readonly events: Reply[] = [];
  stderr = '';
  private readonly pending: Array<(reply: Reply) => void> = [];
  private readonly replies: Reply[] = [];

  private constructor(readonly child: ChildProcess) {
    let partial = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const reply = JSON.parse(partial.slice(0, nl)) as Reply;
        partial = partial.slice(nl + 1);
        if ('event' in reply) this.events.push(reply);
        else if (this.pending.length > 0) this.pending.shift()!(reply);
        else this.replies.push(reply);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  /** Starts the probe with extra environment; preload = false runs it without the library. */
  static async start(env: Record<string, string> = {}, preload = true): Promise<Probe> {
    const command = preload ? [runWithSocketbox, probeExecutable()] : [probeExecutable()];
    const child = spawn(command[0], command.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...withoutSkboxSettings(process.env), ...env },
    });
    const probe = new Probe(child);
    const ready = await probe.next(10_000);
    if (ready.ready !== true) throw new Error(`probe did not start: ${JSON.stringify(ready)} ${probe.stderr}`);
    return probe;
  }

  get pid(): number {
    return this.child.pid!;
  }

  private next(timeoutMs: number): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`probe gave no answer within ${timeoutMs} ms; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      this.pending.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }

  /** Sends one command line and resolves with its answer. */
  call(command: string, timeoutMs = 10_000): Promise<Reply> {
    this.child.stdin!.write(`${command}\n`);
    return this.next(timeoutMs);
  }

  /** Runs the calls in order and returns the answers. */
  async script(commands: string[]): Promise<Reply[]> {
    const answers: Reply[] = [];
    for (const c of commands) answers.push(await this.call(c));
    return answers;
  }

  /** stderr arrives on its own pipe, after or before the answer on stdout: wait for it. */
  async waitForStderr(pattern: RegExp, timeoutMs = 5_000): Promise<string> {
    await waitFor(`probe stderr matching ${pattern} (have: ${JSON.stringify(this.stderr)})`, () => pattern.test(this.stderr), timeoutMs);
    return this.stderr;
  }

  waitForEvents(count: number, timeoutMs = 10_000): Promise<void> {
    return waitFor(`${count} probe events (have ${this.events.length}; stderr: ${this.stderr})`, () => this.events.length >= count, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** The test's own environment without any SKBOX_* setting, so each test states its own. */
export function withoutSkboxSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('SKBOX_') && name !== 'LD_PRELOAD'));
}
