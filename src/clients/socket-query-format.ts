// socket-query's output, in the original's formats:
//   address   0000:0000:0000:0000:0000:0000:0000:0001   (8 groups, 4 lower-case hex digits)
//   port      8080
//   endpoint  [0000:...:0001]:8080
//   raw (-R)  00000000000000000000000000000001, 1F90, 0000...0001:1F90 (upper-case hex)
//   both ends "LOCAL REMOTE" on one line.
import type { Part } from './socket-query-options';

export interface EndpointValue {
  /** 16 bytes, IPv6 (IPv4 sockets are given IPv4-mapped). */
  address: Uint8Array;
  port: number;
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

export function formatAddress(address: Uint8Array, raw: boolean): string {
  if (raw) return Buffer.from(address).toString('hex').toUpperCase();
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(hex((address[i] << 8) | address[i + 1], 4));
  return groups.join(':');
}

export function formatPort(port: number, raw: boolean): string {
  return raw ? hex(port, 4).toUpperCase() : String(port);
}

export function formatEndpoint(endpoint: EndpointValue, part: Part, raw: boolean): string {
  const address = formatAddress(endpoint.address, raw);
  const port = formatPort(endpoint.port, raw);
  switch (part) {
    case 'address':
      return address;
    case 'port':
      return port;
    case 'endpoint':
      return raw ? `${address}:${port}` : `[${address}]:${port}`;
  }
}

export function formatBothEnds(local: EndpointValue, remote: EndpointValue, raw: boolean): string {
  return `${formatEndpoint(local, 'endpoint', raw)} ${formatEndpoint(remote, 'endpoint', raw)}`;
}
