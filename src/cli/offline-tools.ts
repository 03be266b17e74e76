import type { ServerOptions } from './server-flags';
import { UsageError } from './usage-error';
import { formatCheckSummary } from './check-summary';
import { formatExplanation } from './explain';
import { parseClassicConfig } from '../config/classic-parser';
import { tupleFromAddresses } from '../net/address';
import { referenceLookup } from '../table/reference-lookup';
import { readConfigFile } from '../server/rules';
import { parseInteger } from './values';

/** --check: parse and summarise the config without starting a server. */
export function runCheck(o: ServerOptions): string {
  const config = parseClassicConfig(readConfigFile(o.configFile), o.configFile);
  return `${o.configFile}: OK\n${formatCheckSummary(config)}`;
}

/** --explain LOCAL_ADDR LOCAL_PORT REMOTE_ADDR REMOTE_PORT: the path one connection would take. */
export function runExplain(o: ServerOptions): string {
  const [localAddr, localPort, remoteAddr, remotePort] = o.operands;
  let tuple: Uint8Array;
  try {
    tuple = tupleFromAddresses(
      localAddr,
      parseInteger(localPort, 'LOCAL_PORT', 0, 65535),
      remoteAddr,
      parseInteger(remotePort, 'REMOTE_PORT', 0, 65535),
    );
  } catch (err) {
    throw new UsageError(`--explain: ${(err as Error).message}`);
  }
  const config = parseClassicConfig(readConfigFile(o.configFile), o.configFile);
  return formatExplanation(referenceLookup(config, tuple), tuple, { pathSubstitution: o.pathSubstitution });
}
