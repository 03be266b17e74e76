import { tupleFromAddresses } from '../net/address';
import { UsageError } from './usage-error';

/** Strict decimal integer in [min, max]: no sign, no junk, unlike atoi. */
export function parseInteger(text: string | undefined, what: string, min: number, max: number): number {
  if (text === undefined || !/^[0-9]+$/.test(text)) throw new UsageError(`${what}: expected a whole number, got '${text ?? ''}'`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${what}: ${text} is out of range (${min}..${max})`);
  return n;
}

/** A duration such as 2, 2s, 1.5s or 500ms; a bare number is seconds. Returns milliseconds. */
export function parseDuration(text: string | undefined, what: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(ms|s)?$/.exec(text ?? '');
  if (!m) throw new UsageError(`${what}: expected a duration like 2s or 500ms, got '${text ?? ''}'`);
  const ms = m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
  if (!Number.isFinite(ms) || ms > 86_400_000) throw new UsageError(`${what}: ${text} is out of range (at most 1 day)`);
  return Math.round(ms);
}

/** LOCAL_ADDR LOCAL_PORT REMOTE_ADDR REMOTE_PORT as `--explain` and `ctl explain` take them: the 36-byte tuple; throws why not. */
export function tupleFromOperands(localAddr: string, localPort: string, remoteAddr: string, remotePort: string): Uint8Array {
  return tupleFromAddresses(localAddr, parseInteger(localPort, 'LOCAL_PORT', 0, 65535), remoteAddr, parseInteger(remotePort, 'REMOTE_PORT', 0, 65535));
}
