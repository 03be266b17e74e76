// IPv6 text to its 16 bytes, in TypeScript so flag parsing can be checked without the addon.
import * as net from 'node:net';

/** 16 bytes for IPv6 text (an IPv4 tail like ::ffff:1.2.3.4 included); null if not IPv6. */
export function ipv6Bytes(text: string): Buffer | null {
  if (text.includes('%') || !net.isIPv6(text)) return null;
  let groupsText = text;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number);
    groupsText = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left, right] = groupsText.includes('::') ? groupsText.split('::') : [groupsText, undefined];
  const head = left ? left.split(':') : [];
  const rest = right ? right.split(':') : [];
  const zeros = right === undefined ? 0 : 8 - head.length - rest.length;
  const groups = [...head, ...new Array<string>(zeros).fill('0'), ...rest];
  if (groups.length !== 8) return null;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** IPv6 text, or IPv4 text as its IPv4-mapped address; brackets allowed. */
export function addressBytes(text: string): Buffer | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return net.isIPv4(bare) ? ipv6Bytes(`::ffff:${bare}`) : ipv6Bytes(bare);
}
