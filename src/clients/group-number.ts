// A group / slot number as the original's strtoul(..., 0) reads it, minus the junk it
// silently accepts: decimal, 0x hexadecimal or 0-prefixed octal, 0..4294967295.
export function parseGroupNumber(text: string): number | null {
  let value: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) value = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) value = parseInt(text.slice(1), 8);
  else if (/^(0|[1-9][0-9]*)$/.test(text)) value = Number(text);
  else return null;
  return Number.isSafeInteger(value) && value <= 0xffffffff ? value : null;
}
