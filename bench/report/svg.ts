// Small static SVG charts for the benchmark report: a line chart (x/y series) and a grouped bar
// chart. Hand-rolled on purpose: a few hundred bytes of markup per chart, no dependency, readable
// in any browser and on the code host's Markdown view.
// Trusts: nothing; every text is XML-escaped. Fails: never; empty or non-finite data draws an
// empty frame (non-finite points are left out).

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
}

export interface LineChart {
  readonly title: string;
  /** A smaller second line under the title. */
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Ticks on x at exactly these values (e.g. the concurrencies measured); default 5 even ticks. */
  readonly xTicks?: readonly number[];
  /** Start the y axis at 0 (default true). */
  readonly yFromZero?: boolean;
}

export interface BarSeries {
  readonly name: string;
  readonly color: string;
  /** One value per group; NaN leaves a gap. */
  readonly values: readonly number[];
}

export interface BarChart {
  readonly title: string;
  readonly subtitle?: string;
  readonly yLabel: string;
  readonly groups: readonly string[];
  readonly series: readonly BarSeries[];
}

const W = 720;
const H = 360;
const M = { left: 70, right: 170, top: 52, bottom: 50 } as const;
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** A "nice" step (1, 2 or 5 times a power of ten) giving about `n` ticks over [0, span]. */
export function niceStep(span: number, n = 5): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function tickLabel(v: number): string {
  if (Math.abs(v) >= 1000) return `${num(v / 1000)}k`;
  return Math.abs(v) < 10 && !Number.isInteger(v) ? v.toFixed(2).replace(/0$/, '') : num(v);
}

function frame(title: string, subtitle: string | undefined, xLabel: string, yLabel: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...(subtitle === undefined ? [] : [`<text x="${W / 2}" y="38" text-anchor="middle" fill="#444">${esc(subtitle)}</text>`]),
    `<text x="${M.left + PW / 2}" y="${H - 14}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(18 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
    ...body,
    `<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" fill="none" stroke="#444"/>`,
    '</svg>',
    '',
  ].join('\n');
}

function yAxis(maxY: number, minY: number): { y: (v: number) => number; marks: string[] } {
  const step = niceStep(maxY - minY);
  const lo = Math.floor(minY / step) * step;
  const hi = Math.max(lo + step, Math.ceil(maxY / step) * step);
  const y = (v: number): number => M.top + PH - ((v - lo) / (hi - lo)) * PH;
  const marks: string[] = [];
  for (let v = lo; v <= hi + step / 2; v += step) {
    const py = y(v).toFixed(1);
    marks.push(`<line x1="${M.left}" x2="${M.left + PW}" y1="${py}" y2="${py}" stroke="#ddd"/>`);
    marks.push(`<text x="${M.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${tickLabel(v)}</text>`);
  }
  return { y, marks };
}

function legend(items: readonly { name: string; color: string; dashed?: boolean }[]): string[] {
  return items.flatMap((it, i) => {
    const y = M.top + 10 + i * 18;
    const x = M.left + PW + 12;
    return [
      `<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${it.color}" stroke-width="3"${it.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${x + 28}" y="${y}" dominant-baseline="middle">${esc(it.name)}</text>`,
    ];
  });
}

/** Renders a line chart; see LineChart. */
export function lineChart(c: LineChart): string {
  const pts = c.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map(([x]) => x);
  const ys = pts.map(([, y]) => y);
  const minX = Math.min(...xs, ...(c.xTicks ?? []));
  const maxX = Math.max(...xs, ...(c.xTicks ?? []));
  const single = Number.isFinite(minX) && minX === maxX;
  const x0 = Number.isFinite(minX) ? (single ? minX - 1 : minX) : 0;
  const x1 = Number.isFinite(maxX) && maxX > x0 ? (single ? maxX + 1 : maxX) : x0 + 1;
  const pad = c.xTicks !== undefined ? (x1 - x0) * 0.06 : 0;
  const x = (v: number): number => M.left + ((v - (x0 - pad)) / (x1 - x0 + 2 * pad)) * PW;
  const { y, marks } = yAxis(Math.max(...ys, 1e-9), c.yFromZero === false ? Math.min(...ys) : 0);
  const xStep = niceStep(x1 - x0);
  const xt = c.xTicks ?? Array.from({ length: Math.floor((x1 - x0) / xStep) + 1 }, (_, i) => Math.ceil(x0 / xStep) * xStep + i * xStep).filter((v) => v <= x1);
  const body = [...marks];
  for (const v of xt) body.push(`<text x="${x(v).toFixed(1)}" y="${M.top + PH + 16}" text-anchor="middle">${tickLabel(v)}</text>`);
  for (const s of c.series) {
    const good = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
    if (good.length === 0) continue;
    const d = good.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${x(px).toFixed(1)} ${y(py).toFixed(1)}`).join(' ');
    body.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (good.length <= 20) {
      for (const [px, py] of good) body.push(`<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    }
  }
  body.push(...legend(c.series));
  return frame(c.title, c.subtitle, c.xLabel, c.yLabel, body);
}

/** Renders a grouped bar chart; see BarChart. */
export function barChart(c: BarChart): string {
  const vals = c.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const { y, marks } = yAxis(Math.max(...vals, 1e-9), 0);
  const body = [...marks];
  const gw = PW / Math.max(1, c.groups.length);
  const bw = (gw * 0.8) / Math.max(1, c.series.length);
  c.groups.forEach((g, gi) => {
    const gx = M.left + gi * gw + gw * 0.1;
    body.push(`<text x="${(M.left + gi * gw + gw / 2).toFixed(1)}" y="${M.top + PH + 16}" text-anchor="middle">${esc(g)}</text>`);
    c.series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === undefined || !Number.isFinite(v)) return;
      const top = y(v);
      const bx = (gx + si * bw).toFixed(1);
      body.push(`<rect x="${bx}" y="${top.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(M.top + PH - top).toFixed(1)}" fill="${s.color}"><title>${esc(`${s.name} ${g}: ${tickLabel(v)}`)}</title></rect>`);
      // the value on top, so that short bars next to tall ones can still be read
      body.push(`<text x="${(gx + si * bw + (bw - 2) / 2).toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="9">${Math.abs(v) >= 10 ? Math.round(v) : v.toFixed(1)}</text>`);
    });
  });
  body.push(...legend(c.series));
  return frame(c.title, c.subtitle, '', c.yLabel, body);
}
