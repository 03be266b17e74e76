// Flags of `npm run bench` (node dist/bench/run.js).
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { PLACEMENTS, type Placement } from './cpu-placement';
import { SERVER_KINDS, type ServerKind } from './servers';

export interface BenchOptions {
  connections: number;
  inflight: number[];
  rounds: number;
  durationLimitS: number;
  warmupConnections: number;
  connectionTimeoutMs: number;
  servers: ServerKind[];
  placement: Placement;
  outDir: string;
  /** Rounds of the cold-start measurement; 0 when --cold-start was not given. */
  coldStartRounds: number;
}

export const BENCH_USAGE = `usage: npm run bench -- [options]
  --connections N       connections per row (default 20000)
  --inflight A,B,...    connections in flight, one set of rows each (default 8,64)
  --rounds R            measure every row R times, report the median by rate (default 3)
  --duration-limit S    time budget of all measured loads together (default 60), split evenly
                        between the rows; a row out of time stops starting connections
  --warmup N            connections before each measurement (default 500)
  --timeout-ms MS       a connection without its byte after MS is lost (default 5000)
  --servers LIST        among ${SERVER_KINDS.join(',')} (default all), or none
  --cold-start          also measure the first connection after socket activation: socketbox
                        --workers 1 and 2 under systemd-socket-activate beside \`node -e 0\` and a
                        C floor (\`--cold-start --servers none\` measures only that)
  --cold-start-rounds N activations of each subject, the median reported (default 7)
  --placement P         split (default): the load generator on the first allowed CPU, the servers
                        and the receiver on the others, as if the clients were another machine;
                        shared: every process on every CPU (the load generator then competes
                        with socketbox and its receiver, but not with the one-process floor)
  --out-dir DIR         where results go (default bench/results)
`;

function positiveInteger(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n === 0)
    throw new Error(`${flag}: expected a positive integer, got '${text}'`);
  return n;
}

export function parseBenchOptions(argv: string[], defaultOutDir: string): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      connections: { type: 'string', default: '20000' },
      inflight: { type: 'string', default: '8,64' },
      rounds: { type: 'string', default: '3' },
      'duration-limit': { type: 'string', default: '60' },
      warmup: { type: 'string', default: '500' },
      'timeout-ms': { type: 'string', default: '5000' },
      servers: { type: 'string', default: SERVER_KINDS.join(',') },
      placement: { type: 'string', default: 'split' },
      'out-dir': { type: 'string', default: defaultOutDir },
      'cold-start': { type: 'boolean', default: false },
      'cold-start-rounds': { type: 'string', default: '7' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const servers = (values.servers === 'none' ? [] : values.servers.split(',')).map((s) => {
    if (!(SERVER_KINDS as readonly string[]).includes(s)) throw new Error(`--servers: unknown server '${s}'`);
    return s as ServerKind;
  });
  if (!(PLACEMENTS as readonly string[]).includes(values.placement))
    throw new Error(`--placement: expected ${PLACEMENTS.join(' or ')}, got '${values.placement}'`);
  return {
    connections: positiveInteger('--connections', values.connections),
    inflight: values.inflight.split(',').map((s) => positiveInteger('--inflight', s)),
    rounds: positiveInteger('--rounds', values.rounds),
    durationLimitS: positiveInteger('--duration-limit', values['duration-limit']),
    warmupConnections: positiveInteger('--warmup', values.warmup),
    connectionTimeoutMs: positiveInteger('--timeout-ms', values['timeout-ms']),
    servers,
    placement: values.placement as Placement,
    outDir: path.resolve(values['out-dir']),
    coldStartRounds: values['cold-start'] ? positiveInteger('--cold-start-rounds', values['cold-start-rounds']) : 0,
  };
}
