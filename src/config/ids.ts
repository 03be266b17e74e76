/**
 * User and group ids as written in flags and configs. A real id is 0..2^32-2:
 * (uid_t)-1 means "leave unchanged" to set*id() and chown(), so it is nobody's
 * id, and anything larger would wrap around (4294967296 becomes 0, root).
 */
export const MAX_ID = 0xfffffffe;

/** The number an id written in digits stands for (a sign included, to be refused), or null for a name. */
export function idNumber(text: string): number | null {
  return /^[-+]?[0-9]+$/.test(text) ? Number(text) : null;
}

/** Why n is no id, or null when it is one. */
export function idRangeProblem(n: number, written: string = String(n)): string | null {
  return Number.isInteger(n) && n >= 0 && n <= MAX_ID ? null : `${written} is out of range (0..${MAX_ID})`;
}
