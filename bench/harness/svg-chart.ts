// The benchmark as a hand-written SVG: connections per second (left) and latency (right), one
// group of bars per in-flight level, one bar per server. No dependency; plain text out.
import type { ComparedRow } from './compare';
import type { BenchReport } from './report';
import { SERVER_KINDS, SERVER_LABELS, type ServerKind } from './servers';

const WIDTH = 1000;
const HEIGHT = 450;
const PLOT_TOP = 80;
const PLOT_BOTTOM = 340;
const PANEL_WIDTH = 380;
const PANELS_LEFT = [80, 580];

const COLORS: Record<ServerKind, string> = {
  floor: '#8c8c8c',
  'socketbox-w1': '#1f77b4',
  'socketbox-w1-other': '#17becf',
  'socketbox-w1-adaptive': '#bcbd22',
  'socketbox-w1-metrics': '#2ca02c',
  'socketbox-w1-source-rate': '#8c564b',
  'socketbox-w2r': '#ff7f0e',
  'socketbox-fastpath': '#9467bd',
  'socketbox-fastpath-netns': '#d62728',
};

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const n = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(1));

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${n(x)}" y="${n(y)}"${attrs ? ' ' + attrs : ''}>${escapeXml(content)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, attrs: string): string {
  return `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" ${attrs}/>`;
}

function rect(x: number, y: number, w: number, h: number, fill: string): string {
  return `<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(Math.max(h, 0))}" fill="${fill}"/>`;
}

const oneDecimal = (x: number): string => x.toFixed(1).replace(/\.0$/, '');

export const formatRate = (perSecond: number): string =>
  perSecond >= 1000 ? `${oneDecimal(perSecond / 1000)}k` : String(Math.round(perSecond));

export function formatMicros(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 100_000) return `${oneDecimal(us / 1000)} ms`;
  return `${Math.round(us / 1000)} ms`;
}

/** A round step so that about `count` ticks cover 0..max. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 2.5, 5, 10].find((f) => f * magnitude >= raw) ?? 10) * magnitude;
}

interface Layout {
  left: number;
  levels: number[];
  kinds: ServerKind[];
}

/** x of the bar for (level, kind), and the bar width. */
function barX(layout: Layout, level: number, kind: ServerKind): { x: number; width: number } {
  const groupWidth = PANEL_WIDTH / layout.levels.length;
  const width = (groupWidth * 0.7) / layout.kinds.length;
  const groupStart = layout.left + groupWidth * layout.levels.indexOf(level) + groupWidth * 0.15;
  return { x: groupStart + width * layout.kinds.indexOf(kind), width };
}

function groupLabels(layout: Layout): string[] {
  const groupWidth = PANEL_WIDTH / layout.levels.length;
  return layout.levels.map((level, i) =>
    text(layout.left + groupWidth * (i + 0.5), PLOT_BOTTOM + 20, `${level} in flight`, 'text-anchor="middle"'),
  );
}

function frame(layout: Layout, title: string): string[] {
  return [
    text(layout.left + PANEL_WIDTH / 2, PLOT_TOP - 25, title, 'text-anchor="middle" font-weight="bold"'),
    line(layout.left, PLOT_TOP, layout.left, PLOT_BOTTOM, 'stroke="#333"'),
    line(layout.left, PLOT_BOTTOM, layout.left + PANEL_WIDTH, PLOT_BOTTOM, 'stroke="#333"'),
    ...groupLabels(layout),
  ];
}

function ratePanel(rows: readonly ComparedRow[], layout: Layout): string[] {
  const max = Math.max(1, ...rows.map((r) => r.rate_per_s));
  const step = niceStep(max, 5);
  const top = Math.ceil(max / step) * step;
  const y = (v: number) => PLOT_BOTTOM - ((PLOT_BOTTOM - PLOT_TOP) * v) / top;
  const parts = frame(layout, 'Connections per second (higher is better)');
  for (let v = 0; v <= top + step / 2; v += step) {
    parts.push(line(layout.left, y(v), layout.left + PANEL_WIDTH, y(v), 'stroke="#e5e5e5"'));
    parts.push(text(layout.left - 6, y(v) + 4, formatRate(v), 'text-anchor="end"'));
  }
  for (const r of rows) {
    const { x, width } = barX(layout, r.inflight, r.server);
    parts.push(rect(x, y(r.rate_per_s), width, PLOT_BOTTOM - y(r.rate_per_s), COLORS[r.server]));
    parts.push(text(x + width / 2, y(r.rate_per_s) - 4, formatRate(r.rate_per_s), 'text-anchor="middle" font-size="11"'));
    // A rate that lost connections is not comparable: say so on the bar itself.
    const lost = r.lost + r.warmup_lost;
    if (lost > 0) {
      const [lx, ly] = [x + width / 2 + 4, PLOT_BOTTOM - 6];
      parts.push(text(lx, ly, `${lost} lost`, `transform="rotate(-90 ${n(lx)} ${n(ly)})" font-size="12" font-weight="bold" fill="#fff"`));
    }
  }
  return parts;
}

function latencyPanel(rows: readonly ComparedRow[], layout: Layout): string[] {
  const low = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...rows.map((r) => r.p50_us), 1e9))));
  const high = 10 ** Math.ceil(Math.log10(Math.max(low * 10, ...rows.map((r) => r.p999_us))));
  const decades = Math.log10(high / low);
  const y = (us: number) =>
    PLOT_BOTTOM - ((PLOT_BOTTOM - PLOT_TOP) * Math.log10(Math.max(us, low) / low)) / decades;
  const parts = frame(layout, 'Latency, log scale (lower is better)');
  for (let v = low; v <= high * 1.001; v *= 10) {
    parts.push(line(layout.left, y(v), layout.left + PANEL_WIDTH, y(v), 'stroke="#e5e5e5"'));
    parts.push(text(layout.left - 6, y(v) + 4, formatMicros(v), 'text-anchor="end"'));
  }
  for (const r of rows) {
    const { x, width } = barX(layout, r.inflight, r.server);
    const middle = x + width / 2;
    parts.push(rect(x, y(r.p99_us), width, PLOT_BOTTOM - y(r.p99_us), COLORS[r.server]));
    parts.push(line(x, y(r.p50_us), x + width, y(r.p50_us), 'stroke="#fff" stroke-width="3"'));
    parts.push(line(middle, y(r.p99_us), middle, y(r.p999_us), 'stroke="#333"'));
    parts.push(line(middle - width / 4, y(r.p999_us), middle + width / 4, y(r.p999_us), 'stroke="#333"'));
    parts.push(text(middle, y(r.p999_us) - 4, formatMicros(r.p99_us), 'text-anchor="middle" font-size="11"'));
  }
  return parts;
}

function legend(kinds: readonly ServerKind[]): string[] {
  const parts: string[] = [];
  kinds.forEach((kind, i) => {
    const x = PANELS_LEFT[0] + i * 250;
    parts.push(rect(x, HEIGHT - 72, 14, 14, COLORS[kind]), text(x + 20, HEIGHT - 60, SERVER_LABELS[kind]));
  });
  parts.push(
    text(
      PANELS_LEFT[0],
      HEIGHT - 30,
      'Latency: bar = p99 (labelled), white tick = p50, whisker = p999; from connect start to the first byte.',
      'font-size="12" fill="#555"',
    ),
  );
  return parts;
}

export function renderSvg(report: BenchReport): string {
  const rows = report.rows;
  const levels = [...new Set(rows.map((r) => r.inflight))].sort((a, b) => a - b);
  const kinds = SERVER_KINDS.filter((k) => rows.some((r) => r.server === k));
  const title = `socketbox benchmark: ${report.options.connections.toLocaleString('en-US')} connections per row, loopback, ${report.machine.cpus} CPUs (${report.generated_at})`;
  const body = [
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    text(WIDTH / 2, 26, title, 'text-anchor="middle" font-size="15" font-weight="bold"'),
    ...(rows.length ? ratePanel(rows, { left: PANELS_LEFT[0], levels, kinds }) : []),
    ...(rows.length ? latencyPanel(rows, { left: PANELS_LEFT[1], levels, kinds }) : []),
    ...legend(kinds),
  ];
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="13" role="img">`,
    `<title>${escapeXml(title)}</title>`,
    ...body.map((part) => `  ${part}`),
    '</svg>',
  ].join('\n') + '\n';
}
