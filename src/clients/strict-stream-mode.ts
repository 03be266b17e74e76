// SKBOX_STRICT_STREAM_MODE (docs/wire-protocol.md): which received descriptors a receiver keeps.
//   0 = any, 1 = stream sockets, 2 (default) = stream sockets of domain UNIX, INET or INET6.
export type ValidationLevel = 0 | 1 | 2;

export const DEFAULT_VALIDATION_LEVEL: ValidationLevel = 2;

/**
 * Unset or empty means the default. Like the original, a value is read by its leading digits
 * and anything above 2 is as strict as 2. A value without leading digit falls back to the
 * strictest level rather than to no checking; onInvalid hears about it.
 */
export function validationLevelFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  onInvalid: (message: string) => void = () => {},
): ValidationLevel {
  const raw = env.SKBOX_STRICT_STREAM_MODE;
  if (raw === undefined || raw === '') return DEFAULT_VALIDATION_LEVEL;
  const digits = /^[0-9]+/.exec(raw);
  if (!digits) {
    onInvalid(`SKBOX_STRICT_STREAM_MODE='${raw}' is not a number; using ${DEFAULT_VALIDATION_LEVEL}`);
    return DEFAULT_VALIDATION_LEVEL;
  }
  const level = Number(digits[0]);
  return level >= 2 ? 2 : (level as 0 | 1);
}
