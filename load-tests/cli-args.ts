/** `--name VALUE` from this program's arguments as a number, or the fallback. */
export function numberArg(name: string, fallback: number, args: readonly string[] = process.argv.slice(2)): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value)) throw new Error(`${name}: expected a number, got '${args[i + 1] ?? ''}'`);
  return value;
}

/** `--name VALUE` from this program's arguments as text, or the fallback. */
export function stringArg(name: string, fallback: string, args: readonly string[] = process.argv.slice(2)): string {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name}: expected a value`);
  return value;
}
