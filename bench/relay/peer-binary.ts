// Builds bench/relay/peer.c (the benchmark's client and backend) into the temp directory
// when missing or older than its source.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function peerBinary(root: string): string {
  const source = path.join(root, 'bench', 'relay', 'peer.c');
  const binary = path.join(os.tmpdir(), 'socketbox-relay-bench-peer');
  const stale = !fs.existsSync(binary) || fs.statSync(binary).mtimeMs < fs.statSync(source).mtimeMs;
  if (stale) execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-pthread', '-o', binary, source], { stdio: 'inherit' });
  return binary;
}
