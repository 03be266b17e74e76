// Tuples and addresses carry IPv4 peers as IPv4-mapped IPv6 addresses (docs/table-format.md: "Tuple").

/** True when the 16 bytes at `at` are an IPv4-mapped address, ::ffff:a.b.c.d. */
export const isIPv4Mapped = (bytes: Uint8Array, at = 0): boolean =>
  bytes.subarray(at, at + 10).every((b) => b === 0) && bytes[at + 10] === 0xff && bytes[at + 11] === 0xff;
