// Writes a report as <timestamp>.json, latest.json, latest.md and latest.svg in one directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderMarkdown } from './markdown-table';
import type { BenchReport } from './report';
import { renderSvg } from './svg-chart';

/** Where each file went (a type alias, so Object.values of one is a list of paths). */
export type ResultFiles = Record<'json' | 'latestJson' | 'markdown' | 'svg', string>;

export function writeResults(report: BenchReport, dir: string): ResultFiles {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = report.generated_at.replace(/[:.]/g, '-');
  const files: ResultFiles = {
    json: path.join(dir, `${stamp}.json`),
    latestJson: path.join(dir, 'latest.json'),
    markdown: path.join(dir, 'latest.md'),
    svg: path.join(dir, 'latest.svg'),
  };
  const json = JSON.stringify(report, null, 2) + '\n';
  fs.writeFileSync(files.json, json);
  fs.writeFileSync(files.latestJson, json);
  fs.writeFileSync(files.markdown, renderMarkdown(report));
  fs.writeFileSync(files.svg, renderSvg(report));
  return files;
}
