/**
 * --source-rate RATE[:BURST][/PREFIXLEN[,PREFIXLEN4]]: a token bucket per source prefix
 * (native/server/source_rate.c). Its limits come from the native header, through the
 * generated contracts, so the flag and the table accept the same values.
 */
import { SOURCE_RATE } from '../native/contracts.generated';
import { UsageError } from './usage-error';

export interface SourceRate {
  /** Connections per 1000 s: RATE × 1000 (RATE has up to three decimals). */
  rateMilli: number;
  /** The bucket's size in connections; a source seen for the first time starts with it full. */
  burst: number;
  /** Leading bits of an IPv6 source that name its bucket (default 64). */
  prefixV6: number;
  /** The same for an IPv4 source, seen as ::ffff:a.b.c.d (default 32). */
  prefixV4: number;
}

const SYNTAX = /^([0-9]+(?:\.[0-9]{1,3})?)(?::([0-9]+))?(?:\/([0-9]+)(?:,([0-9]+))?)?$/;
const MAX_RATE = SOURCE_RATE.maxRateMilli / 1000;

/** The flag's value, or a usage error that says which part is wrong. */
export function parseSourceRate(text: string | undefined, spelled: string): SourceRate {
  const m = SYNTAX.exec(text ?? '');
  if (!m)
    throw new UsageError(
      `${spelled}: expected RATE[:BURST][/PREFIXLEN[,PREFIXLEN4]] (e.g. 100:50/64,24; RATE with up to 3 decimals), got '${text ?? ''}'`,
    );
  const [, rateText, burstText, v6Text, v4Text] = m;
  const rateMilli = Math.round(Number(rateText) * 1000);
  if (rateMilli < 1 || rateMilli > SOURCE_RATE.maxRateMilli)
    throw new UsageError(`${spelled}: RATE ${rateText} is out of range (0.001..${MAX_RATE} connections per second)`);
  // Without BURST the bucket holds one second's worth, and at least one connection.
  const burst = burstText === undefined ? Math.max(1, Math.floor(rateMilli / 1000)) : Number(burstText);
  if (burst < 1 || burst > SOURCE_RATE.maxBurst) throw new UsageError(`${spelled}: BURST ${burstText} is out of range (1..${SOURCE_RATE.maxBurst})`);
  const prefixV6 = v6Text === undefined ? 64 : Number(v6Text);
  if (prefixV6 > 128) throw new UsageError(`${spelled}: PREFIXLEN ${v6Text} is out of range (0..128)`);
  const prefixV4 = v4Text === undefined ? 32 : Number(v4Text);
  if (prefixV4 > 32) throw new UsageError(`${spelled}: PREFIXLEN4 ${v4Text} is out of range (0..32)`);
  return { rateMilli, burst, prefixV6, prefixV4 };
}
