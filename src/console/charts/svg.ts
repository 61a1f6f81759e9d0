/**
 * Drawing helpers shared by the console's charts: pure functions from numbers to SVG markup,
 * rendered on the server (no script, no CDN). Every text that may come from a user goes
 * through `esc`. Colour is never the only carrier: each verdict also has its own marker shape
 * and fill pattern, and every mark has a text label or a <title>.
 */
import { escapeHtml, raw, type Html } from '../html.ts';

export const esc = escapeHtml;

export type Verdict = 'pass' | 'review' | 'flag';
export const VERDICTS: readonly Verdict[] = ['pass', 'review', 'flag'];

export const COLOURS: Record<Verdict, string> = { pass: '#3f7f4f', review: '#b57f00', flag: '#b42318' };

/** Pattern ids per verdict: flag hatched, review dotted, pass solid (see `patternDefs`). */
export const FILL: Record<Verdict, string> = { pass: COLOURS.pass, review: 'url(#sg-dots)', flag: 'url(#sg-hatch)' };

/** Hatching and dots, so stacked bars stay distinguishable in greyscale. */
export function patternDefs(): string {
  return `<defs>
<pattern id="sg-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${COLOURS.flag}"/><rect width="2.5" height="6" fill="#fff" fill-opacity="0.55"/></pattern>
<pattern id="sg-dots" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="${COLOURS.review}"/><circle cx="3" cy="3" r="1.4" fill="#fff" fill-opacity="0.7"/></pattern>
<pattern id="sg-window" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="8" height="8" fill="#b42318" fill-opacity="0.08"/><rect width="2" height="8" fill="#b42318" fill-opacity="0.25"/></pattern>
</defs>`;
}

/** A marker per verdict: pass a circle, review a triangle, flag a diamond. */
export function marker(verdict: Verdict, x: number, y: number, r = 5, extra = ''): string {
  const c = COLOURS[verdict];
  const a = `fill="${c}" stroke="#fff" stroke-width="1"${extra ? ` ${extra}` : ''}`;
  if (verdict === 'pass') return `<circle cx="${f(x)}" cy="${f(y)}" r="${f(r)}" ${a}/>`;
  if (verdict === 'review') return `<path d="M${f(x)} ${f(y - r * 1.15)}L${f(x + r * 1.1)} ${f(y + r * 0.85)}L${f(x - r * 1.1)} ${f(y + r * 0.85)}Z" ${a}/>`;
  return `<path d="M${f(x)} ${f(y - r * 1.3)}L${f(x + r * 1.3)} ${f(y)}L${f(x)} ${f(y + r * 1.3)}L${f(x - r * 1.3)} ${f(y)}Z" ${a}/>`;
}

/** Two decimals at most: SVG stays small and stable across runs. */
export function f(n: number): string {
  return String(Math.round(n * 100) / 100);
}

export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

export function text(x: number, y: number, value: string, attrs = ''): string {
  return `<text x="${f(x)}" y="${f(y)}" font-size="12" fill="#1d2329"${attrs ? ` ${attrs}` : ''}>${esc(value)}</text>`;
}

/** The outer element: scales to its container, at most `width` px wide, announced as an image. */
export function svg(width: number, height: number, label: string, body: string, testid: string): Html {
  return raw(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet" role="img" aria-label="${esc(label)}" data-testid="${esc(testid)}" font-family="system-ui, 'PingFang SC', 'Noto Sans CJK SC', sans-serif"><title>${esc(label)}</title>${patternDefs()}${body}</svg>`,
  );
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STEPS = [1000, 5000, 15_000, 30_000, MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY];

/** Tick times (UTC-aligned) for a time axis with at most `max` ticks, and their labels. */
export function timeTicks(t0: number, t1: number, max = 8): { at: number; label: string }[] {
  const span = Math.max(t1 - t0, 1000);
  const step = STEPS.find((s) => span / s <= max) ?? Math.ceil(span / max / DAY) * DAY;
  const first = Math.ceil(t0 / step) * step;
  const out: { at: number; label: string }[] = [];
  for (let at = first; at <= t1; at += step) out.push({ at, label: timeLabel(at, step, span) });
  return out;
}

function timeLabel(at: number, step: number, span: number): string {
  const iso = new Date(at).toISOString();
  if (step >= DAY) return iso.slice(5, 10);
  if (step < MINUTE) return iso.slice(11, 19);
  return span > DAY ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}

/** A time axis along y = `y` from x0 to x1 with gridlines up to `top`. */
export function timeAxis(t0: number, t1: number, x: (t: number) => number, y: number, top: number, max = 8): string {
  return timeTicks(t0, t1, max)
    .map(
      (tk) =>
        `<line x1="${f(x(tk.at))}" x2="${f(x(tk.at))}" y1="${f(top)}" y2="${f(y)}" stroke="#d7dde3"/>${text(x(tk.at), y + 15, tk.label, 'text-anchor="middle" font-size="11" fill="#5d6b78"')}`,
    )
    .join('');
}

/** A legend row of verdict markers with their names. */
export function verdictLegend(x: number, y: number, names: Record<Verdict, string>, counts?: Partial<Record<Verdict, number>>): string {
  let cx = x;
  return VERDICTS.map((v) => {
    const label = counts ? `${names[v]} (${counts[v] ?? 0})` : names[v];
    const out = `<g data-legend="${v}">${marker(v, cx + 6, y - 4, 5)}${text(cx + 16, y, label)}</g>`;
    cx += 28 + label.length * 7.5;
    return out;
  }).join('');
}

/** Human duration: 45 s, 12 min, 3.5 h, 2.0 d. */
export function duration(ms: number, lang: 'en' | 'zh'): string {
  const s = ms / 1000;
  if (s < 90) return lang === 'zh' ? `${Math.round(s)}秒` : `${Math.round(s)} s`;
  if (s < 5400) return lang === 'zh' ? `${Math.round(s / 60)}分钟` : `${Math.round(s / 60)} min`;
  if (s < 172_800) return lang === 'zh' ? `${(s / 3600).toFixed(1)}小时` : `${(s / 3600).toFixed(1)} h`;
  return lang === 'zh' ? `${(s / 86_400).toFixed(1)}天` : `${(s / 86_400).toFixed(1)} d`;
}
