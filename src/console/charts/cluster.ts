/**
 * A cluster at a glance: its posts on one time axis, one row per account (coordinated posting
 * shows as markers stacked in a narrow column), and its accounts as a graph whose edges are
 * the near-duplicate articles they share (width and number = shared article pairs). The
 * layout is deterministic: accounts on a circle in order of their first post.
 *
 *   clusterTimelineSvg(data, 'zh'); clusterGraphSvg(data, 'zh') // data-testid="cluster-timeline" / "cluster-graph"
 */
import type { Html } from '../html.ts';
import type { Lang } from '../i18n.ts';
import type { ClusterGraphData } from '../../services/dashboard.ts';
import { ct, verdictNames } from './labels.ts';
import { duration, esc, f, linear, marker, svg, text, timeAxis, verdictLegend, type Verdict } from './svg.ts';

const W = 1100;
const LEFT = 170;
const RIGHT = 24;
const ROW = 26;
const MAX_ROWS = 40;

/** Accounts in order of their first post in the cluster. */
function accountsInOrder(d: ClusterGraphData): string[] {
  const seen: string[] = [];
  for (const p of d.posts) if (!seen.includes(p.accountId)) seen.push(p.accountId);
  return seen;
}

const shortId = (s: string, n = 22) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function clusterTimelineSvg(d: ClusterGraphData, lang: Lang): Html {
  const names = verdictNames(lang);
  const accounts = accountsInOrder(d).slice(0, MAX_ROWS);
  const times = d.posts.map((p) => Date.parse(p.at));
  const lo = Math.min(...times);
  const hi = Math.max(...times);
  const pad = Math.max((hi - lo) * 0.04, 5_000);
  const x = linear(lo - pad, hi + pad, LEFT, W - RIGHT);
  const top = 40;
  const bottom = top + accounts.length * ROW;
  const counts: Partial<Record<Verdict, number>> = {};
  for (const p of d.posts) if (p.verdict) counts[p.verdict] = (counts[p.verdict] ?? 0) + 1;
  const parts: string[] = [verdictLegend(LEFT, 18, names, counts)];
  const span = duration(hi - lo, lang);
  parts.push(text(W - RIGHT, 18, ct(lang, 'within', { n: d.posts.length, s: span }), 'text-anchor="end" font-weight="600"'));
  parts.push(timeAxis(lo - pad, hi + pad, x, bottom, top));
  accounts.forEach((a, i) => {
    const yy = top + i * ROW + ROW / 2;
    parts.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${f(yy)}" y2="${f(yy)}" stroke="#eef2f6"/>${text(LEFT - 8, yy + 4, shortId(a), 'text-anchor="end"')}`);
  });
  const row = new Map(accounts.map((a, i) => [a, i]));
  for (const p of d.posts) {
    const i = row.get(p.accountId);
    if (i === undefined) continue;
    const px = x(Date.parse(p.at));
    const yy = top + i * ROW + ROW / 2;
    const title = `${p.accountId} · ${p.at.replace('T', ' ').slice(0, 19)} · ${p.verdict ? names[p.verdict] : ct(lang, 'unscored')}`;
    parts.push(
      `<g data-testid="cluster-post" data-account="${esc(p.accountId)}"><title>${esc(title)}</title>${p.verdict ? marker(p.verdict, px, yy) : `<circle cx="${f(px)}" cy="${f(yy)}" r="3" fill="#9aa7b3"/>`}</g>`,
    );
  }
  const label = ct(lang, 'clusterTimelineLabel', { c: d.clusterId, n: d.posts.length, a: accountsInOrder(d).length, s: span });
  return svg(W, bottom + 28, label, parts.join(''), 'cluster-timeline');
}

export function clusterGraphSvg(d: ClusterGraphData, lang: Lang): Html {
  const accounts = accountsInOrder(d).slice(0, MAX_ROWS);
  const H = 420;
  const cx = W / 2;
  const cy = H / 2 + 6;
  const r = accounts.length <= 1 ? 0 : Math.min(150, 40 + accounts.length * 14);
  const pos = new Map(
    accounts.map((a, i) => {
      const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(accounts.length, 1);
      return [a, { x: cx + r * Math.cos(angle), y: cy + r * Math.sin(angle), angle }] as const;
    }),
  );
  const posts = new Map<string, number>();
  for (const p of d.posts) posts.set(p.accountId, (posts.get(p.accountId) ?? 0) + 1);
  const maxW = Math.max(1, ...d.edges.map((e) => e.weight));
  const parts: string[] = [];
  const shown = d.edges.filter((e) => pos.has(e.a) && pos.has(e.b));
  for (const e of shown) {
    const a = pos.get(e.a)!;
    const b = pos.get(e.b)!;
    const width = 1.5 + (5 * e.weight) / maxW;
    const mx = (a.x + b.x) / 2;
    const my = (a.y + b.y) / 2;
    parts.push(
      `<g data-testid="graph-edge" data-a="${esc(e.a)}" data-b="${esc(e.b)}" data-weight="${e.weight}"><title>${esc(`${e.a} — ${e.b}: ${e.weight}`)}</title>` +
        `<line x1="${f(a.x)}" y1="${f(a.y)}" x2="${f(b.x)}" y2="${f(b.y)}" stroke="#5d6b78" stroke-opacity="0.7" stroke-width="${f(width)}"/>` +
        `<rect x="${f(mx - 9)}" y="${f(my - 8)}" width="18" height="15" rx="3" fill="#fff" stroke="#d7dde3"/>${text(mx, my + 4, String(e.weight), 'text-anchor="middle" font-size="11"')}` +
        '</g>',
    );
  }
  for (const a of accounts) {
    const p = pos.get(a)!;
    const n = posts.get(a) ?? 0;
    const radius = 7 + Math.min(10, Math.sqrt(n) * 2.5);
    const right = Math.cos(p.angle) >= -0.01;
    const lx = p.x + (right ? radius + 6 : -radius - 6);
    parts.push(
      `<g data-testid="graph-node" data-account="${esc(a)}" data-posts="${n}"><title>${esc(`${a}: ${n}`)}</title>` +
        `<circle cx="${f(p.x)}" cy="${f(p.y)}" r="${f(radius)}" fill="#0b5cad" fill-opacity="0.85" stroke="#fff" stroke-width="2"/>` +
        text(lx, p.y + 4, `${shortId(a)} (${n})`, `text-anchor="${right ? 'start' : 'end'}"`) +
        '</g>',
    );
  }
  if (shown.length === 0) parts.push(text(cx, 24, ct(lang, 'graphNone'), 'text-anchor="middle" fill="#5d6b78"'));
  const label = ct(lang, 'graphLabel', { a: accounts.length, e: shown.length });
  return svg(W, H, label, parts.join(''), 'cluster-graph');
}
