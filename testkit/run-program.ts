// Running a program to its end and collecting what it said, bounded in time.
import { spawn } from 'node:child_process';

export interface ProgramRun {
  /** The exit status, or the name of the signal that ended it. */
  status: number | string;
  stdout: string;
  stderr: string;
}

/** Runs file ARGS with stdin from /dev/null, killed (SIGKILL) after timeoutMs. */
export function runProgram(file: string, args: readonly string[], timeoutMs: number): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? signal ?? -1, stdout, stderr });
    });
  });
}
