/**
 * The dashboard's five pictures, each a pure function of `DashboardData` (services/dashboard.ts):
 * volume by verdict per day (stacked, patterned bars), the review backlog by age, the largest
 * open clusters, moderator-confirmed precision per model version, and this week's score
 * distribution (bars) against the weeks before (a step line), with the shift in numbers.
 *
 *   volumeSvg(data, 'en') // <svg … data-testid="chart-volume">…
 */
import type { Html } from '../html.ts';
import type { Lang } from '../i18n.ts';
import type { DashboardData } from '../../services/dashboard.ts';
import { ageName, ct, verdictNames } from './labels.ts';
import { COLOURS, esc, f, FILL, linear, svg, text, VERDICTS } from './svg.ts';

const W = 640;

/** A rounded-up axis maximum with 4 gridlines. */
function niceMax(v: number): number {
  if (v <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(v));
  const m = [1, 2, 2.5, 5, 10].find((k) => k * p >= v)!;
  return m * p;
}

function gridY(max: number, y: (v: number) => number, left: number, right: number, fmt: (v: number) => string): string {
  return [0, 0.25, 0.5, 0.75, 1]
    .map(
      (k) =>
        `<line x1="${left}" x2="${right}" y1="${f(y(max * k))}" y2="${f(y(max * k))}" stroke="#d7dde3"/>${text(left - 6, y(max * k) + 4, fmt(max * k), 'text-anchor="end" font-size="11" fill="#5d6b78"')}`,
    )
    .join('');
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

export function volumeSvg(d: DashboardData, lang: Lang): Html {
  const names = verdictNames(lang);
  const H = 260;
  const [left, right, top, bottom] = [44, W - 12, 34, H - 30];
  const totals = d.volume.map((v) => v.pass + v.review + v.flag);
  const max = niceMax(Math.max(0, ...totals));
  const y = linear(0, max, bottom, top);
  const bw = (right - left) / Math.max(d.volume.length, 1);
  const parts = [gridY(max, y, left, right, (v) => String(Math.round(v)))];
  // legend: a swatch with the bar's own pattern, then the name and the period's total
  let lx = left;
  for (const v of VERDICTS) {
    const n = d.volume.reduce((s, x) => s + x[v], 0);
    const label = `${names[v]} ${n}`;
    parts.push(`<g data-legend="${v}"><rect x="${lx}" y="10" width="14" height="12" fill="${FILL[v]}" stroke="${COLOURS[v]}"/>${text(lx + 18, 21, label)}</g>`);
    lx += 30 + label.length * 7.5;
  }
  d.volume.forEach((v, i) => {
    let base = 0;
    const x0 = left + i * bw + 1;
    for (const verdict of VERDICTS) {
      const n = v[verdict];
      if (n === 0) continue;
      parts.push(
        `<rect data-testid="volume-bar" data-day="${v.day}" data-verdict="${verdict}" data-count="${n}" x="${f(x0)}" y="${f(y(base + n))}" width="${f(Math.max(bw - 2, 1))}" height="${f(y(base) - y(base + n))}" fill="${FILL[verdict]}" stroke="${COLOURS[verdict]}" stroke-width="0.5"><title>${esc(`${v.day} · ${names[verdict]}: ${n}`)}</title></rect>`,
      );
      base += n;
    }
    if (i % 7 === 0 || i === d.volume.length - 1) parts.push(text(x0 + bw / 2, bottom + 16, v.day.slice(5), 'text-anchor="middle" font-size="11" fill="#5d6b78"'));
  });
  const sum = (k: 'pass' | 'review' | 'flag') => d.volume.reduce((s, x) => s + x[k], 0);
  return svg(W, H, ct(lang, 'volumeLabel', { d: d.volume.length, p: sum('pass'), r: sum('review'), f: sum('flag') }), parts.join(''), 'chart-volume');
}

/** Horizontal labelled bars: one row per item. */
function barRows(
  rows: { label: string; value: number; display: string; testid: string; attrs?: string; fill?: string }[],
  max: number,
  labelWidth: number,
): { body: string; height: number } {
  const x = linear(0, max || 1, labelWidth + 8, W - 120);
  const body = rows
    .map((r, i) => {
      const yy = 12 + i * 28;
      return `<g data-testid="${r.testid}"${r.attrs ? ` ${r.attrs}` : ''}>${text(labelWidth, yy + 13, r.label, 'text-anchor="end"')}<rect x="${labelWidth + 8}" y="${yy}" width="${f(Math.max(x(r.value) - labelWidth - 8, r.value > 0 ? 2 : 0))}" height="18" fill="${r.fill ?? '#0b5cad'}"/>${text(x(r.value) + 6, yy + 13, r.display, 'font-weight="600"')}</g>`;
    })
    .join('');
  return { body, height: 20 + rows.length * 28 };
}

export function backlogSvg(d: DashboardData, lang: Lang): Html {
  const total = d.backlog.reduce((s, b) => s + b.count, 0);
  const max = Math.max(0, ...d.backlog.map((b) => b.count));
  // older is worse: the bars darken with age
  const shades = ['#9ec5ea', '#6aa5dc', '#3a7fc4', '#b57f00', '#b42318'];
  const { body, height } = barRows(
    d.backlog.map((b, i) => ({
      label: ageName(lang, b.bucket),
      value: b.count,
      display: String(b.count),
      testid: 'backlog-bar',
      attrs: `data-bucket="${b.bucket}" data-count="${b.count}"`,
      fill: shades[i] ?? '#0b5cad',
    })),
    max,
    90,
  );
  const oldest = d.backlogOldest ? d.backlogOldest.replace('T', ' ').slice(0, 16) : '—';
  return svg(W, height, ct(lang, 'backlogLabel', { n: total, o: oldest }), body, 'chart-backlog');
}

export function clustersSvg(d: DashboardData, lang: Lang): Html {
  if (d.clusters.length === 0) return svg(W, 40, ct(lang, 'clustersLabel'), text(12, 24, ct(lang, 'none'), 'fill="#5d6b78"'), 'chart-clusters');
  const max = Math.max(...d.clusters.map((c) => c.open));
  const rows = d.clusters.map((c) => ({
    label: c.id.length > 24 ? `${c.id.slice(0, 23)}…` : c.id,
    value: c.open,
    display: ct(lang, 'clusterRow', { o: c.open, s: c.size, a: c.accounts }),
    testid: 'cluster-bar',
    attrs: `data-cluster="${esc(c.id)}" data-open="${c.open}"`,
  }));
  const { body, height } = barRows(rows, max * 1.6, 190);
  // each row links to the cluster's page
  const linked = d.clusters
    .map(
      (c, i) =>
        `<a href="/console/clusters/${esc(encodeURIComponent(c.id))}"><rect x="0" y="${12 + i * 28}" width="${W}" height="22" fill="transparent"><title>${esc(c.id)}</title></rect></a>`,
    )
    .join('');
  return svg(W, height, ct(lang, 'clustersLabel'), body + linked, 'chart-clusters');
}

export function precisionSvg(d: DashboardData, lang: Lang): Html {
  const names = verdictNames(lang);
  if (d.precision.length === 0) return svg(W, 40, ct(lang, 'precisionLabel'), text(12, 24, ct(lang, 'none'), 'fill="#5d6b78"'), 'chart-precision');
  const parts: string[] = [];
  const versions = [...new Set(d.precision.map((p) => p.modelVersion))];
  const x = linear(0, 1, 200, W - 200);
  let yy = 10;
  parts.push(`<line x1="${f(x(1))}" x2="${f(x(1))}" y1="4" y2="${4 + versions.length * 64}" stroke="#d7dde3"/>`);
  for (const v of versions) {
    parts.push(text(8, yy + 14, v.length > 60 ? `${v.slice(0, 59)}…` : v, 'font-size="11" fill="#5d6b78"'));
    yy += 20;
    for (const verdict of ['flag', 'review'] as const) {
      const p = d.precision.find((q) => q.modelVersion === v && q.verdict === verdict);
      if (!p) continue;
      const share = p.decided ? p.confirmed / p.decided : 0;
      parts.push(
        `<g data-testid="precision-bar" data-model="${esc(v)}" data-verdict="${verdict}" data-confirmed="${p.confirmed}" data-decided="${p.decided}">` +
          text(190, yy + 13, names[verdict], 'text-anchor="end"') +
          `<rect x="200" y="${yy}" width="${f(x(1) - 200)}" height="18" fill="#eef2f6"/><rect x="200" y="${yy}" width="${f(x(share) - 200)}" height="18" fill="${FILL[verdict]}" stroke="${COLOURS[verdict]}"/>` +
          text(x(1) + 6, yy + 13, ct(lang, 'precisionRow', { c: p.confirmed, d: p.decided, p: pct(share) }), 'font-weight="600"') +
          '</g>',
      );
      yy += 22;
    }
    yy += 6;
  }
  return svg(W, yy + 6, ct(lang, 'precisionLabel'), parts.join(''), 'chart-precision');
}

/** Summary numbers of the two score distributions: means and the Kolmogorov–Smirnov distance. */
export function scoreShift(d: DashboardData): { thisWeek: number; before: number; meanThis: number | null; meanBefore: number | null; ks: number | null } {
  const n1 = d.scores.thisWeek.reduce((a, b) => a + b, 0);
  const n0 = d.scores.before.reduce((a, b) => a + b, 0);
  const mean = (h: number[], n: number) => (n ? h.reduce((s, c, i) => s + c * ((i + 0.5) / d.scores.bins), 0) / n : null);
  let ks: number | null = null;
  if (n1 && n0) {
    let c1 = 0;
    let c0 = 0;
    ks = 0;
    for (let i = 0; i < d.scores.bins; i++) {
      c1 += d.scores.thisWeek[i]! / n1;
      c0 += d.scores.before[i]! / n0;
      ks = Math.max(ks, Math.abs(c1 - c0));
    }
  }
  return { thisWeek: n1, before: n0, meanThis: mean(d.scores.thisWeek, n1), meanBefore: mean(d.scores.before, n0), ks };
}

export function scoresSvg(d: DashboardData, lang: Lang): Html {
  const H = 280;
  const [left, right, top, bottom] = [44, W - 12, 52, H - 32];
  const s = scoreShift(d);
  const share1 = d.scores.thisWeek.map((c) => (s.thisWeek ? c / s.thisWeek : 0));
  const share0 = d.scores.before.map((c) => (s.before ? c / s.before : 0));
  const max = Math.min(1, Math.ceil(Math.max(0.04, ...share1, ...share0) * 25) / 25);
  const y = linear(0, max, bottom, top);
  const x = linear(0, 1, left, right);
  const bw = (right - left) / d.scores.bins;
  const parts = [gridY(max, y, left, right, pct)];
  share1.forEach((v, i) => {
    if (v > 0)
      parts.push(
        `<rect data-testid="score-bar-this" data-bin="${i}" data-share="${f(v)}" x="${f(x(i / d.scores.bins) + 1)}" y="${f(y(v))}" width="${f(bw - 2)}" height="${f(bottom - y(v))}" fill="#0b5cad" fill-opacity="0.55"><title>${esc(`${(i / d.scores.bins).toFixed(2)}–${((i + 1) / d.scores.bins).toFixed(2)}: ${pct(v)}`)}</title></rect>`,
      );
  });
  // the weeks before: a dashed step line over the same bins
  let path = `M${f(x(0))} ${f(y(0))}`;
  share0.forEach((v, i) => {
    path += `V${f(y(v))}H${f(x((i + 1) / d.scores.bins))}`;
  });
  path += `V${f(y(0))}`;
  if (s.before) parts.push(`<path data-testid="score-line-before" d="${path}" fill="none" stroke="#1d2329" stroke-width="2" stroke-dasharray="5 3"/>`);
  for (const v of [0, 0.25, 0.5, 0.75, 1])
    parts.push(text(x(v), bottom + 16, v.toFixed(2), `text-anchor="${v === 1 ? 'end' : v === 0 ? 'start' : 'middle'}" font-size="11" fill="#5d6b78"`));
  parts.push(`<rect x="${left}" y="10" width="16" height="12" fill="#0b5cad" fill-opacity="0.55"/>${text(left + 20, 21, ct(lang, 'thisWeek', { n: s.thisWeek }))}`);
  parts.push(
    `<line x1="${left + 190}" x2="${left + 212}" y1="16" y2="16" stroke="#1d2329" stroke-width="2" stroke-dasharray="5 3"/>${text(left + 218, 21, ct(lang, 'before', { w: d.scores.beforeWeeks, n: s.before }))}`,
  );
  const num = (v: number | null) => (v === null ? '—' : v.toFixed(2));
  const shift = ct(lang, 'shift', { a: num(s.meanThis), b: num(s.meanBefore), k: num(s.ks) });
  parts.push(`<g data-testid="score-shift" data-ks="${s.ks === null ? '' : f(s.ks)}">${text(left, 42, shift, 'font-weight="600"')}</g>`);
  const label = ct(lang, 'scoresLabel', { n: s.thisWeek, m: s.before, w: d.scores.beforeWeeks, a: num(s.meanThis), b: num(s.meanBefore), k: num(s.ks) });
  return svg(W, H, label, parts.join(''), 'chart-scores');
}
