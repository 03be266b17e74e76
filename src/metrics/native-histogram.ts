
/** What a histogram reports at one scrape: counts per bucket (not cumulative), their sum. */
export interface HistogramSnapshot {
  boundsSeconds: readonly number[];
  counts: readonly bigint[]; // one more than boundsSeconds: the last is +Inf
  sum: number;
}

/** One line of the exposition: a bucket, the sum or the count. */
interface HistogramSample {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

/**
 * A Prometheus histogram whose buckets are counted elsewhere (in the native
 * accept loops) and read at scrape time; prom-client's own Histogram would
 * need a JavaScript call per observation.
 */
export class NativeHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum' as const;

  constructor(
    config: { name: string; help: string },
    private readonly read: () => HistogramSnapshot,
  ) {
    this.name = config.name;
    this.help = config.help;
  }

  // prom-client awaits get(): a promise of a value computed now.
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: HistogramSample[] }> {
    const snap = this.read();
    const values: HistogramSample[] = [];
    let cumulative = 0n;
    for (let i = 0; i < snap.counts.length; i++) {
      cumulative += snap.counts[i];
      const le = i < snap.boundsSeconds.length ? snap.boundsSeconds[i] : '+Inf';
      values.push({ value: Number(cumulative), labels: { le }, metricName: `${this.name}_bucket` });
    }
    values.push({ value: snap.sum, labels: {}, metricName: `${this.name}_sum` });
    values.push({ value: Number(cumulative), labels: {}, metricName: `${this.name}_count` });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  // prom-client calls these on registered metrics; a read-only view has nothing to reset.
  reset(): void {}
}
