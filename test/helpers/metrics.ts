/** Scraping socketbox's /metrics and reading samples out of the parsed text. */

// A real Prometheus text-format parser (no type declarations ship with it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheusTextFormat = require('parse-prometheus-text-format') as (text: string) => unknown;

export interface Sample {
  labels?: Record<string, string>;
  value?: string;
}
export interface Family {
  name: string;
  type: string;
  metrics: Sample[];
}

export async function scrape(port: number): Promise<Family[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parsePrometheusTextFormat(await res.text()) as Family[];
}

/** The sample of name with (at least) these labels, or undefined when there is none. */
export function findValue(families: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample ? Number(sample.value) : undefined;
}

/** The sample of name with these labels; throws when there is none. */
export function value(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const v = findValue(families, name, labels);
  if (v === undefined) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
  return v;
}

/** All samples of name added up. */
export function sum(families: Family[], name: string): number {
  return (families.find((f) => f.name === name)?.metrics ?? []).reduce((n, m) => n + Number(m.value), 0);
}
