import type { ServerOptions } from './server-flags';
import { UsageError } from './usage-error';
import { formatCheckSummary } from './check-summary';
import { formatExplanation } from './explain';
import { parseClassicConfig } from '../config/classic-parser';
import { referenceLookup } from '../table/reference-lookup';
import { readConfigFile } from '../server/rules';
import { parseInteger, tupleFromOperands } from './values';
import { isJsonConfigFile } from '../config/config-file-kind';
import { parseJsonConfig } from '../config/json-parser';
import { compileJsonTable } from '../table/compile-json';
import { formatJsonCheckSummary } from './json-check-summary';
import { jsonReferenceLookup, JsonReferenceLookup } from '../table/json-reference-lookup';

function parseListener(text: string): number {
  try {
    return parseInteger(text, 'LISTENER', 0, 4095);
  } catch (err) {
    throw new UsageError(`--explain: ${(err as Error).message}`);
  }
}

/** The path through a JSON config's sets, one line per set visited, then the outcome. */
function formatJsonExplanation(lookup: JsonReferenceLookup, listener: number): string {
  const lines = [`listener ${listener} (incoming_socket)`];
  for (const step of lookup.steps) lines.push(`  ${step.set}: ${step.line === null ? 'no entry matched' : `line ${step.line}`} -> ${step.action}`);
  const r = lookup.result;
  lines.push(r.kind === 'slot' ? `delivered to slot ${r.slot} (o:${r.slot})` : `refused: ${r.kind}`);
  return lines.join('\n') + '\n';
}

/** --check: parse and summarise the config without starting a server. */
export function runCheck(o: ServerOptions): string {
  if (isJsonConfigFile(o.configFile)) {
    const json = parseJsonConfig(readConfigFile(o.configFile), o.configFile);
    compileJsonTable(json); // what the server would load, so --check fails where it would
    return formatJsonCheckSummary(json);
  }
  const config = parseClassicConfig(readConfigFile(o.configFile), o.configFile);
  return `${o.configFile}: OK\n${formatCheckSummary(config)}`;
}

/** --explain LOCAL_ADDR LOCAL_PORT REMOTE_ADDR REMOTE_PORT [LISTENER]: the path one connection would take. */
export function runExplain(o: ServerOptions): string {
  const [localAddr, localPort, remoteAddr, remotePort, listenerText] = o.operands;
  const json = isJsonConfigFile(o.configFile);
  if (listenerText !== undefined && !json) throw new UsageError('--explain: LISTENER (an incoming socket index) applies to JSON configs only');
  let tuple: Uint8Array;
  try {
    tuple = tupleFromOperands(localAddr, localPort, remoteAddr, remotePort);
  } catch (err) {
    throw new UsageError(`--explain: ${(err as Error).message}`);
  }
  if (json) {
    const listener = listenerText === undefined ? 0 : parseListener(listenerText);
    const config = parseJsonConfig(readConfigFile(o.configFile), o.configFile);
    if (listener >= config.incoming.length)
      throw new UsageError(`--explain: LISTENER ${listener} does not exist; ${o.configFile} has ${config.incoming.length} (0..${config.incoming.length - 1})`);
    return formatJsonExplanation(jsonReferenceLookup(config, tuple, listener), listener);
  }
  const config = parseClassicConfig(readConfigFile(o.configFile), o.configFile);
  return formatExplanation(referenceLookup(config, tuple), tuple, { pathSubstitution: o.pathSubstitution });
}
