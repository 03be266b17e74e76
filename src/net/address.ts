/**
 * IPv6 address text <-> 16-byte form, prefix masks, and the 36-byte lookup
 * tuple (docs/table-format.md, "Tuple"). Hand-written rather than built on
 * `net.isIPv6` because we need the bytes, and zone ids (`%eth0`, which Node
 * accepts) have no meaning in a rule.
 */

export const IPV6_BYTES = 16;
export const TUPLE_BYTES = 36;

/** Longest valid text form: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`. */
const MAX_IPV6_TEXT = 45;

/** Dotted-quad IPv4, strict: four decimal octets 0..255 without leading zeros. */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

/** Hex groups of one side of a `::`; an embedded IPv4 may end the list if allowed. */
function parseGroups(text: string, ipv4AllowedAtEnd: boolean): number[] | null {
  if (text === '') return [];
  const pieces = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i];
    if (ipv4AllowedAtEnd && i === pieces.length - 1 && piece.includes('.')) {
      const v4 = parseIPv4(piece);
      if (v4 === null) return null;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
      groups.push(parseInt(piece, 16));
    }
  }
  return groups;
}

/** Parses IPv6 text (with `::` and embedded IPv4) to 16 bytes; null if invalid. */
export function parseIPv6(text: string): Uint8Array | null {
  if (text.length === 0 || text.length > MAX_IPV6_TEXT) return null;
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return null;
  let groups: number[];
  if (gap < 0) {
    const all = parseGroups(text, true);
    if (all === null || all.length !== 8) return null;
    groups = all;
  } else {
    const head = parseGroups(text.slice(0, gap), false);
    const tail = parseGroups(text.slice(gap + 2), true);
    if (head === null || tail === null) return null;
    // `::` stands for at least one zero group.
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  }
  const bytes = new Uint8Array(IPV6_BYTES);
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  return bytes;
}

function isIPv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** RFC 5952 text form; IPv4-mapped addresses as `::ffff:a.b.c.d`. */
export function formatIPv6(bytes: Uint8Array): string {
  if (bytes.length !== IPV6_BYTES) throw new RangeError(`an IPv6 address has 16 bytes, not ${bytes.length}`);
  if (isIPv4Mapped(bytes)) return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  // Find the longest run (>= 2) of zero groups; the first one wins a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** 16-byte mask with the first `length` bits set (0..128). */
export function prefixMask(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 128) {
    throw new RangeError(`prefix length must be 0..128, not ${length}`);
  }
  const mask = new Uint8Array(IPV6_BYTES);
  for (let i = 0; i < IPV6_BYTES; i++) {
    const bits = Math.min(8, Math.max(0, length - 8 * i));
    mask[i] = (0xff00 >> bits) & 0xff;
  }
  return mask;
}

/**
 * Address of a live connection as 16 bytes. Unlike rules, a client's address
 * may be plain IPv4 (that is how a dual-stack socket can report it), and a
 * link-local address may carry a zone id, which does not take part in routing.
 */
function connectionAddress(text: string, which: string): Uint8Array {
  const v4 = parseIPv4(text);
  if (v4 !== null) return parseIPv6(`::ffff:${text}`)!;
  const zone = text.indexOf('%');
  const bytes = parseIPv6(zone >= 0 ? text.slice(0, zone) : text);
  if (bytes === null) throw new TypeError(`${which} address '${text}' is not an IPv4 or IPv6 address`);
  return bytes;
}

function checkPort(port: number, which: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new RangeError(`${which} port must be 0..65535, not ${port}`);
  }
}

/** The 36-byte tuple: local addr, remote addr, local port BE, remote port BE. */
export function tupleFromAddresses(
  localAddr: string,
  localPort: number,
  remoteAddr: string,
  remotePort: number,
): Uint8Array {
  checkPort(localPort, 'local');
  checkPort(remotePort, 'remote');
  const tuple = new Uint8Array(TUPLE_BYTES);
  tuple.set(connectionAddress(localAddr, 'local'), 0);
  tuple.set(connectionAddress(remoteAddr, 'remote'), 16);
  tuple[32] = localPort >> 8;
  tuple[33] = localPort & 0xff;
  tuple[34] = remotePort >> 8;
  tuple[35] = remotePort & 0xff;
  return tuple;
}
