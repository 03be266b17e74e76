// Descriptor numbers from the command line: plain decimal only (the original's atoi took
// "3x" as 3 and "x" as 0, i.e. stdin, without a word).
import { UsageError } from '../cli/usage-error';

const MAX_FD = 0x7fffffff;

export function parseFd(text: string, what: string): number {
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`${what} must be a descriptor number, not '${text}'`);
  const fd = Number(text);
  if (fd > MAX_FD) throw new UsageError(`${what} ${text} is out of range`);
  return fd;
}
