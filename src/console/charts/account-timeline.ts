/**
 * An account's posts on a time axis (height = score, marker shape and colour = verdict), its
 * burst windows as hatched bands, the stretch the machine-cadence signal measured as a
 * bracket under the axis, and its posting rate against the tenant's typical account.
 *
 *   accountTimelineSvg(data, 'en') // <svg … data-testid="account-timeline">…<g data-testid="burst-window" …>
 */
import type { Html } from '../html.ts';
import type { Lang } from '../i18n.ts';
import type { AccountTimelineData } from '../../services/dashboard.ts';
import { ct, verdictNames } from './labels.ts';
import { COLOURS, duration, esc, f, linear, marker, svg, text, timeAxis, verdictLegend, type Verdict } from './svg.ts';

const W = 1100;
const LEFT = 48;
const RIGHT = 24;
const TOP = 44;
const PLOT_H = 180;

interface Range {
  t0: number;
  t1: number;
}

/** One time panel from `top`: score grid, time axis, burst bands, posts, cadence bracket; returns its bottom. */
function panel(d: AccountTimelineData, lang: Lang, r: Range, top: number, parts: string[], detail: boolean): number {
  const names = verdictNames(lang);
  const x = linear(r.t0, r.t1, LEFT, W - RIGHT);
  const bottom = top + PLOT_H;
  const y = linear(0, 1, bottom, top);
  const inRange = (t: number) => t >= r.t0 && t <= r.t1;
  const clampX = (t: number) => x(Math.min(Math.max(t, r.t0), r.t1));
  parts.push(`<g data-panel="${detail ? 'detail' : 'overview'}">`);
  for (const v of [0, 0.5, 1])
    parts.push(
      `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#d7dde3"${v === 0.5 ? ' stroke-dasharray="3 3"' : ''}/>${text(LEFT - 6, y(v) + 4, v.toFixed(1), 'text-anchor="end" font-size="11" fill="#5d6b78"')}`,
    );
  parts.push(timeAxis(r.t0, r.t1, x, bottom, top));
  d.bursts.forEach((b, i) => {
    const [bs, be] = [Date.parse(b.start), Date.parse(b.end)];
    if (be < r.t0 || bs > r.t1) return;
    const x0 = clampX(bs);
    const w = Math.max(clampX(be) - x0, 4);
    const label = ct(lang, 'burst', { n: b.posts });
    parts.push(
      `<g data-testid="${detail ? 'burst-window-detail' : 'burst-window'}" data-start="${esc(b.start)}" data-end="${esc(b.end)}" data-posts="${b.posts}"><title>${esc(`${label} · ${b.start} – ${b.end}`)}</title>` +
        `<rect x="${f(x0)}" y="${top}" width="${f(w)}" height="${PLOT_H}" fill="url(#sg-window)" stroke="${COLOURS.flag}" stroke-dasharray="4 2"/>` +
        text(Math.min(x0 + 4, W - RIGHT - 110), top + 14 + (i % 2) * 14, label, `font-weight="600" fill="${COLOURS.flag}"`) +
        '</g>',
    );
  });
  for (const k of d.peaks) {
    const [ks, ke] = [Date.parse(k.start), Date.parse(k.end)];
    if (ke < r.t0 || ks > r.t1) continue;
    const x0 = clampX(ks) - 3;
    const w = Math.max(clampX(ke) - x0 + 3, 6);
    const label = ct(lang, 'peak', { n: k.posts, s: duration(ke - ks, lang) });
    parts.push(
      `<g data-testid="${detail ? 'burst-peak-detail' : 'burst-peak'}" data-start="${esc(k.start)}" data-end="${esc(k.end)}" data-posts="${k.posts}"><title>${esc(`${label} · ${k.start} – ${k.end}`)}</title>` +
        `<rect x="${f(x0)}" y="${top}" width="${f(w)}" height="${PLOT_H}" fill="${COLOURS.flag}" fill-opacity="0.18" stroke="${COLOURS.flag}" stroke-width="1.5"/>` +
        text(Math.min(x0 + w + 4, W - RIGHT - 140), bottom - 8, label, `font-weight="600" fill="${COLOURS.flag}"`) +
        '</g>',
    );
  }
  for (const p of d.posts) {
    const t = Date.parse(p.at);
    if (!inRange(t)) continue;
    const px = x(t);
    const py = y(p.score ?? 0);
    const title = `${p.at.replace('T', ' ').slice(0, 19)} · ${p.verdict ? names[p.verdict] : ct(lang, 'unscored')}${p.score === null ? '' : ` · ${p.score.toFixed(2)}`}`;
    parts.push(
      `<g data-testid="${detail ? 'post-detail' : 'post'}" data-verdict="${p.verdict ?? 'none'}"><title>${esc(title)}</title>${p.verdict ? marker(p.verdict, px, py) : `<circle cx="${f(px)}" cy="${f(py)}" r="3" fill="#9aa7b3"/>`}</g>`,
    );
  }
  let h = bottom + 26;
  const c = d.cadence;
  if (c && Date.parse(c.end) >= r.t0 && Date.parse(c.start) <= r.t1) {
    const x0 = clampX(Date.parse(c.start));
    const x1 = Math.max(clampX(Date.parse(c.end)), x0 + 4);
    const yb = h + 6;
    const label = ct(lang, 'cadence', { n: c.intervals, cv: c.cv.toFixed(2) });
    parts.push(
      `<g data-testid="${detail ? 'cadence-stretch-detail' : 'cadence-stretch'}" data-start="${esc(c.start)}" data-end="${esc(c.end)}"><title>${esc(`${label} · ${c.start} – ${c.end}`)}</title>` +
        `<path d="M${f(x0)} ${f(yb - 6)}V${f(yb)}H${f(x1)}V${f(yb - 6)}" fill="none" stroke="#1d2329" stroke-width="2"/>` +
        text(Math.min(Math.max(x0, LEFT), W - RIGHT - 300), yb + 16, `⟼ ${label}`, 'font-weight="600"') +
        '</g>',
    );
    h = yb + 24;
  }
  parts.push('</g>');
  return h;
}

export function accountTimelineSvg(d: AccountTimelineData, lang: Lang): Html {
  const names = verdictNames(lang);
  const times = d.posts.map((p) => Date.parse(p.at));
  const marked = d.bursts.flatMap((b) => [Date.parse(b.start), Date.parse(b.end)]);
  const spans = [...times, ...marked];
  const lo = Math.min(...spans);
  const hi = Math.max(...spans);
  const pad = Math.max((hi - lo) * 0.03, 30_000);
  const counts: Partial<Record<Verdict, number>> = {};
  for (const p of d.posts) if (p.verdict) counts[p.verdict] = (counts[p.verdict] ?? 0) + 1;

  const parts: string[] = [];
  parts.push(verdictLegend(LEFT, 18, names, counts));
  parts.push(text(W - RIGHT, 18, `${ct(lang, 'score')} ↑`, 'text-anchor="end" fill="#5d6b78"'));
  let h = panel(d, lang, { t0: lo - pad, t1: hi + pad }, TOP, parts, false);
  // A detail panel around the first dense burst when it is a small part of the history: ten
  // minutes in a month are one pixel wide on the overview.
  const peak = d.peaks[0];
  if (peak) {
    const [ps, pe] = [Date.parse(peak.start), Date.parse(peak.end)];
    if (pe - ps < (hi - lo) * 0.2) {
      const dpad = Math.max((pe - ps) * 1.5, 15 * 60_000);
      parts.push(text(LEFT, h + 10, ct(lang, 'detail', { s: duration(pe - ps + 2 * dpad, lang) }), 'font-weight="600"'));
      h = panel(d, lang, { t0: ps - dpad, t1: pe + dpad }, h + 24, parts, true);
    }
  }
  // posting rate against the typical account: two labelled bars on one scale
  const rateMax = Math.max(d.perDay, d.typicalPerDay ?? 0, 1e-9);
  const rx = linear(0, rateMax, 0, 360);
  const rates: [string, number | null, string, string][] = [
    [ct(lang, 'thisAccount'), d.perDay, '#1d2329', 'rate-account'],
    [ct(lang, 'typical'), d.typicalPerDay, '#9aa7b3', 'typical-line'],
  ];
  h += 8;
  rates.forEach(([name, v, colour, testid], i) => {
    const yy = h + i * 20;
    parts.push(
      `<g data-testid="${testid}" data-value="${v === null ? '' : f(v)}">${text(LEFT + 130, yy + 11, name, 'text-anchor="end"')}` +
        (v === null
          ? ''
          : `<rect x="${LEFT + 136}" y="${yy}" width="${f(Math.max(rx(v), 1))}" height="14" fill="${colour}"${i === 1 ? ' fill-opacity="0.6" stroke="#5d6b78" stroke-dasharray="3 2"' : ''}/>`) +
        text(LEFT + 142 + (v === null ? 0 : rx(v)), yy + 11, v === null ? '—' : `${v.toFixed(1)} / d`) +
        '</g>',
    );
  });
  h += 46;
  const label = ct(lang, 'timelineLabel', {
    a: d.accountId,
    n: d.posts.length,
    b: d.bursts.length,
    c: d.cadence ? ct(lang, 'cadence', { n: d.cadence.intervals, cv: d.cadence.cv.toFixed(2) }) : ct(lang, 'cadenceNone'),
  });
  const note = ct(lang, 'perDay', { a: d.perDay.toFixed(1), t: d.typicalPerDay === null ? '—' : d.typicalPerDay.toFixed(1), n: d.typicalAccounts });
  return svg(W, h, `${label}. ${note}. ${lang === 'zh' ? '跨度' : 'span'} ${duration(hi - lo, lang)}`, parts.join(''), 'account-timeline');
}
