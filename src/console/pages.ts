import { DECISIONS, type Decision } from '../domain/review.ts';
import type { Reason } from '../domain/types.ts';
import type { JobView } from '../services/views.ts';
import type { QueuePage, ReviewService } from '../services/review.ts';
import type { AuditEvent, GroupDetail, QueueArticle, QueueCounts, QueueGroup, ReviewArticle } from '../services/review-views.ts';
import type { WebhookView } from '../webhooks/views.ts';
import { alignPassages, annotate, diffWords } from './align.ts';
import { Html, html, qs } from './html.ts';
import { type Lang, type MessageKey, t, term } from './i18n.ts';
import type { Session } from './sessions.ts';

/** Server-rendered pages of the console. Every interpolation goes through `html` (escaped). */

export interface PageContext {
  lang: Lang;
  session: Session | null;
  /** The current path + query, for forms that come back here. */
  here: string;
  flash?: string | null;
}

const fmtTime = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');
const fmtScore = (n: number | null | undefined) => (n === null || n === undefined ? '' : n.toFixed(2));
const short = (s: string, n = 90) => (s.length > n ? `${s.slice(0, n)}…` : s);

export function layout(pc: PageContext, title: string, body: Html): Html {
  const s = pc.session;
  return html`<!doctype html>
<html lang="${pc.lang === 'zh' ? 'zh-CN' : 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · ${t(pc.lang, 'title')}</title>
<link rel="stylesheet" href="/console/static/app.css">
</head>
<body>
<header>
  <span class="brand">slopguard</span>
  ${
    s
      ? html`<nav>
    <a href="/console">${pc.lang === 'zh' ? '总览' : 'Dashboard'}</a>
    <a href="/console/queue">${t(pc.lang, 'queue')}</a>
    <a href="/console/queue${qs({ group: 'cluster' })}">${t(pc.lang, 'g_cluster')}</a>
    <a href="/console/audit">${t(pc.lang, 'audit')}</a>
    <a href="/console/comments" data-testid="nav-comments">${pc.lang === 'zh' ? '评论' : 'Comments'}</a>
    ${s.role === 'admin' ? html`<a href="/console/admin/queues">${t(pc.lang, 'adminQueues')}</a>` : ''}
    ${s.role === 'admin' ? html`<a href="/console/keys">${pc.lang === 'zh' ? 'API 密钥' : 'API keys'}</a>` : ''}
  </nav>
  <span class="who">
    <span data-testid="whoami">${s.keyId} · ${s.tenantId} · ${s.role}</span>
    <form method="post" action="/console/lang"><input type="hidden" name="csrf" value="${s.csrf}"><input type="hidden" name="back" value="${pc.here}"><input type="hidden" name="lang" value="${pc.lang === 'zh' ? 'en' : 'zh'}"><button type="submit" data-testid="lang">${t(pc.lang, 'language')}</button></form>
    <form method="post" action="/console/logout"><input type="hidden" name="csrf" value="${s.csrf}"><button type="submit">${t(pc.lang, 'logout')}</button></form>
  </span>`
      : ''
  }
</header>
<main>
${pc.flash ? html`<div class="flash" role="status" data-testid="flash">${pc.flash}</div>` : ''}
${body}
</main>
<div id="help">${t(pc.lang, 'shortcuts')}</div>
<script src="/console/static/app.js"></script>
</body>
</html>`;
}

export function loginPage(lang: Lang, csrf: string, error: boolean): Html {
  return layout(
    { lang, session: null, here: '/console/login' },
    t(lang, 'login'),
    html`<form class="login" method="post" action="/console/login">
  <h1>${t(lang, 'login')}</h1>
  <p class="muted">${t(lang, 'loginHint')}</p>
  ${error ? html`<p class="err" role="alert">${t(lang, 'badKey')}</p>` : ''}
  <input type="hidden" name="csrf" value="${csrf}">
  <input type="hidden" name="lang" value="${lang}">
  <label>${t(lang, 'apiKey')}<input type="password" name="key" autocomplete="off" required autofocus></label>
  <button class="primary" type="submit">${t(lang, 'login')}</button>
</form>`,
  );
}

export function errorPage(pc: PageContext, status: number, message: string): Html {
  return layout(pc, t(pc.lang, 'error'), html`<h1>${t(pc.lang, 'error')} ${status}</h1><p class="err">${message}</p><p><a href="/console/queue">${t(pc.lang, 'back')}</a></p>`);
}

function select(name: string, value: string | undefined, options: [string, string][]): Html {
  return html`<select name="${name}">${options.map(([v, label]) => html`<option value="${v}"${v === (value ?? '') ? html` selected` : ''}>${label}</option>`)}</select>`;
}

function countsBar(lang: Lang, counts: QueueCounts): Html {
  return html`<div class="counts" data-testid="counts">
  <span>${t(lang, 'total')}: <b data-count="total">${counts.total}</b></span>
  <span>${t(lang, 'st_pending')}: <b data-count="pending">${counts.byState.pending}</b></span>
  <span>${t(lang, 'st_escalated')}: <b data-count="escalated">${counts.byState.escalated}</b></span>
  <span>${t(lang, 'st_decided')}: <b data-count="decided">${counts.byState.decided}</b></span>
  <span>${t(lang, 'claimed')}: <b data-count="claimed">${counts.claimed}</b></span>
  <span>${term(lang, 'v', 'flag')}: <b>${counts.byVerdict.flag}</b> · ${term(lang, 'v', 'review')}: <b>${counts.byVerdict.review}</b></span>
</div>`;
}

function decisionButtons(lang: Lang): Html {
  return html`${DECISIONS.map((d, i) => html`<button type="submit" name="decision" value="${d}" class="d-${d}" title="${String(i + 1)}" data-testid="decide-${d}">${t(lang, `d_${d}` as MessageKey)} <span class="muted">[${i + 1}]</span></button>`)}`;
}

/**
 * Nothing starts selected: a decision applies to what the moderator ticked, or to the whole
 * group only when they pick that scope. app.js asks for confirmation when a decision would
 * touch more than one item, showing the count (`data-group-count` for the group scope).
 */
function bulkActions(pc: PageContext, group?: { type: 'batch' | 'cluster'; id: string; open: number }): Html {
  const s = pc.session as Session;
  return html`<div class="actions" data-confirm="${t(pc.lang, 'confirmBulk')}" data-select-first="${t(pc.lang, 'selectFirst')}"${group ? html` data-group-count="${String(group.open)}"` : ''}>
  <input type="hidden" name="csrf" value="${s.csrf}">
  <input type="hidden" name="back" value="${pc.here}">
  <label><input type="checkbox" data-select-all> ${t(pc.lang, 'selectAll')}</label>
  <span class="muted"><span data-selected-count>0</span> ${t(pc.lang, 'selected')}</span>
  ${
    group
      ? html`<input type="hidden" name="${group.type === 'batch' ? 'batchId' : 'clusterId'}" value="${group.id}">
  ${select('scope', 'selected', [
    ['selected', t(pc.lang, 'scopeSelected')],
    ['group', t(pc.lang, 'scopeGroup')],
  ])}`
      : ''
  }
  <input type="text" name="comment" maxlength="2000" placeholder="${t(pc.lang, 'comment')}" aria-label="${t(pc.lang, 'comment')}">
  ${decisionButtons(pc.lang)}
  <button type="submit" formaction="/console/claim" data-testid="claim">${t(pc.lang, 'claimSelected')}</button>
  <button type="submit" formaction="/console/release">${t(pc.lang, 'release')}</button>
</div>`;
}

function claimNote(pc: PageContext, claim: { moderator: string; expiresAt: string } | null): Html | string {
  if (!claim) return '';
  const who = claim.moderator === pc.session?.keyId ? t(pc.lang, 'you') : claim.moderator;
  return html`<span class="claim" data-testid="claim-note">${t(pc.lang, 'heldBy', { m: who })}</span>`;
}

function stateCell(lang: Lang, state: string, decision: Decision | null): Html {
  return html`${t(lang, `st_${state}` as MessageKey)}${decision ? html`<br><span class="muted">${t(lang, `d_${decision}` as MessageKey)}</span>` : ''}`;
}

export interface QueueFilters {
  group: string;
  sort: string;
  state: string;
  verdict?: string | undefined;
  label?: string | undefined;
  minScore?: string | undefined;
  maxScore?: string | undefined;
  account?: string | undefined;
  batch?: string | undefined;
  cluster?: string | undefined;
  model?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

export function queuePage(pc: PageContext, f: QueueFilters, page: QueuePage<QueueArticle | QueueGroup>): Html {
  const { lang } = pc;
  const filters = html`<form class="filters" method="get" action="/console/queue" data-testid="filters">
  <label>${t(lang, 'group')}${select('group', f.group, [
    ['article', t(lang, 'g_article')],
    ['batch', t(lang, 'g_batch')],
    ['cluster', t(lang, 'g_cluster')],
  ])}</label>
  <label>${t(lang, 'sort')}${select('sort', f.sort, [
    ['priority', t(lang, 's_priority')],
    ['age', t(lang, 's_age')],
  ])}</label>
  <label>${t(lang, 'state')}${select(
    'state',
    f.state,
    (['open', 'pending', 'escalated', 'decided', 'all'] as const).map((s) => [s, t(lang, `st_${s}`)]),
  )}</label>
  <label>${t(lang, 'verdict')}${select('verdict', f.verdict, [
    ['', t(lang, 'any')],
    ['flag', term(lang, 'v', 'flag')],
    ['review', term(lang, 'v', 'review')],
  ])}</label>
  <label>${t(lang, 'label')}${select('label', f.label, [
    ['', t(lang, 'any')],
    ['ai_undeclared', 'ai_undeclared'],
    ['ai_declared', 'ai_declared'],
    ['uncertain', 'uncertain'],
    ['human', 'human'],
  ])}</label>
  <label>${t(lang, 'minScore')}<input type="number" name="minScore" min="0" max="1" step="0.01" value="${f.minScore ?? ''}"></label>
  <label>${t(lang, 'maxScore')}<input type="number" name="maxScore" min="0" max="1" step="0.01" value="${f.maxScore ?? ''}"></label>
  <label>${t(lang, 'account')}<input type="text" name="account" value="${f.account ?? ''}"></label>
  <label>${t(lang, 'batch')}<input type="text" name="batch" value="${f.batch ?? ''}"></label>
  <label>${t(lang, 'cluster')}<input type="text" name="cluster" value="${f.cluster ?? ''}"></label>
  <label>${t(lang, 'model')}<input type="text" name="model" value="${f.model ?? ''}"></label>
  <label>${t(lang, 'from')}<input type="date" name="from" value="${f.from ?? ''}"></label>
  <label>${t(lang, 'to')}<input type="date" name="to" value="${f.to ?? ''}"></label>
  <button class="primary" type="submit" data-testid="apply-filters">${t(lang, 'filter')}</button>
</form>`;
  const base = { ...f } as Record<string, string | undefined>;
  const next = page.nextCursor ? html`<p><a href="/console/queue${qs({ ...base, cursor: page.nextCursor })}" data-testid="next">${t(lang, 'next')} →</a></p>` : '';
  let table: Html;
  if (page.items.length === 0) {
    table = html`<p class="muted">${t(lang, 'none')}</p>`;
  } else if (f.group === 'article') {
    const rows = (page.items as QueueArticle[]).map(
      (a) => html`<tr data-item data-testid="row">
  <td><input type="checkbox" name="articleIds" value="${a.id}" aria-label="${a.id}"></td>
  <td>${fmtScore(a.score)}</td>
  <td class="verdict-${a.verdict}">${term(lang, 'v', a.verdict)}</td>
  <td>${term(lang, 'l', a.label)}</td>
  <td><a href="/console/articles/${encodeURIComponent(a.id)}">${short(a.title ?? a.externalId)}</a></td>
  <td><a href="/console/accounts/${encodeURIComponent(a.accountId)}">${a.accountId}</a></td>
  <td>${a.clusterId ? html`<a href="/console/clusters/${encodeURIComponent(a.clusterId)}">${a.clusterSize}</a>` : ''}</td>
  <td>${a.batchId ? html`<a href="/console/batches/${encodeURIComponent(a.batchId)}">${short(a.batchId, 14)}</a>` : ''}</td>
  <td>${stateCell(lang, a.state, a.decision)} ${claimNote(pc, a.claim)}</td>
  <td>${fmtTime(a.receivedAt)}</td>
</tr>`,
    );
    table = html`<form method="post" action="/console/decide" data-bulk>
${bulkActions(pc)}
<table data-testid="queue">
<thead><tr><th></th><th>${t(lang, 'score')}</th><th>${t(lang, 'verdict')}</th><th>${t(lang, 'label')}</th><th>${t(lang, 'titleCol')}</th><th>${t(lang, 'account')}</th><th>${t(lang, 'cluster')}</th><th>${t(lang, 'batch')}</th><th>${t(lang, 'state')}</th><th>${t(lang, 'received')}</th></tr></thead>
<tbody>${rows}</tbody>
</table>
</form>`;
  } else {
    const rows = (page.items as QueueGroup[]).map(
      (g) => html`<tr data-item data-testid="row">
  <td><a href="/console/${g.kind === 'cluster' ? 'clusters' : 'batches'}/${encodeURIComponent(g.id)}" data-testid="group-link">${g.id}</a></td>
  <td>${g.items}${g.clusterSize !== null ? html` <span class="muted">/ ${g.clusterSize}</span>` : ''}</td>
  <td>${g.pending} / ${g.escalated} / ${g.decided}</td>
  <td>${fmtScore(g.maxScore)}</td>
  <td>${g.accounts}</td>
  <td>${g.claimedBy.length ? html`<span class="claim">${g.claimedBy.join(', ')}</span>` : ''}</td>
  <td>${fmtTime(g.oldestAt)}</td>
</tr>`,
    );
    table = html`<table data-testid="queue">
<thead><tr><th>${t(lang, f.group === 'cluster' ? 'cluster' : 'batch')}</th><th>${t(lang, 'items')}</th><th>${t(lang, 'st_pending')} / ${t(lang, 'st_escalated')} / ${t(lang, 'st_decided')}</th><th>${t(lang, 'score')}</th><th>${t(lang, 'accounts')}</th><th>${t(lang, 'claimed')}</th><th>${t(lang, 'received')}</th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
  }
  return layout(pc, t(lang, 'queue'), html`<h1>${t(lang, 'queue')}</h1>${filters}${countsBar(lang, page.counts)}${table}${next}`);
}

function reasonsList(lang: Lang, reasons: Reason[]): Html {
  if (reasons.length === 0) return html``;
  return html`<ul class="reasons">${reasons.map((r) => html`<li><b>${r.message?.[lang] ?? r.code}</b> <span class="muted">(${term(lang, 'src', r.source)}, ${r.contribution >= 0 ? '+' : ''}${fmtScore(r.contribution)})</span></li>`)}</ul>`;
}

/** The labelling decision, the notice the platform shows, and where explicit labels were found. */
function labellingBlock(lang: Lang, a: ReviewArticle): Html {
  const l = a.labelling;
  return html`<div class="labelling lab-${l.decision}" data-testid="labelling" data-decision="${l.decision}">
  <b>${t(lang, 'labelling')}</b>: ${t(lang, `lab_${l.decision}` as MessageKey)}${l.notice ? html` · <span data-testid="labelling-notice">${l.notice[lang]}</span>` : ''}
  ${l.explicitLabels.length > 0 ? html`<br><span class="muted">${t(lang, 'labelFound')}: ${l.explicitLabels.map((x) => `“${x.phrase}” (${x.where} ${x.start}–${x.end})`).join(', ')}</span>` : ''}
  ${l.implicitLabel ? html`<br><span class="muted">AIGC: Label ${l.implicitLabel.Label} · ContentProducer ${l.implicitLabel.ContentProducer} · ProduceID ${l.implicitLabel.ProduceID}</span>` : ''}
</div>`;
}

/** What the highlight colours mean (shown with every article that has window scores). */
function highlightLegend(lang: Lang): Html {
  return html`<p class="legend" data-testid="highlight-legend">${t(lang, 'highlightLegend')} <span class="swatch p2">${t(lang, 'highlightReview')}</span> <span class="swatch p3">${t(lang, 'highlightFlag')}</span></p>`;
}

function highlighted(a: ReviewArticle, passages: { start: number; end: number; passage: number }[] = []): Html {
  const runs = annotate(a.text, a.segments, passages);
  return html`<div class="text" data-testid="article-text">${runs.map((r) => {
    const classes = [r.level > 0 ? `seg p${r.level}` : '', r.passage !== null ? `dup dup${r.passage % 8}` : ''].filter(Boolean).join(' ');
    if (!classes) return r.text;
    const tag = r.level > 0 ? 'mark' : 'span';
    const title = r.probability !== null && r.level > 0 ? `P(AI) ${r.probability.toFixed(2)}` : '';
    return html`<${new Html(tag)} class="${classes}"${title ? html` title="${title}"` : ''}${r.passage !== null ? html` data-passage="${String(r.passage)}"` : ''}>${r.text}</${new Html(tag)}>`;
  })}</div>`;
}

/** One aligned passage with the words that differ from the first article's (from the second's, for the first) marked. */
function diffCell(text: string, cells: readonly ({ text: string } | null)[], index: number): Html {
  const others = cells.filter((c, i): c is { text: string } => c !== null && i !== index);
  const reference = cells.findIndex((c) => c !== null) === index ? others[0] : cells.find((c) => c !== null);
  if (!reference) return html`${text}`;
  return html`${diffWords(text, reference.text).map((p) => (p.differs ? html`<mark class="diff">${p.text}</mark>` : p.text))}`;
}

function articleCard(pc: PageContext, a: ReviewArticle, passages: { start: number; end: number; passage: number }[] = [], selectable = true): Html {
  const { lang } = pc;
  return html`<section class="card" data-item data-testid="card">
  ${selectable ? html`<label><input type="checkbox" name="articleIds" value="${a.id}" aria-label="${a.id}"> ${a.id}</label>` : ''}
  <h3><a href="/console/articles/${encodeURIComponent(a.id)}" data-testid="card-title">${a.title ?? a.externalId}</a></h3>
  <div class="meta">
    <a href="/console/accounts/${encodeURIComponent(a.accountId)}">${a.accountId}</a> · ${t(lang, 'score')} ${fmtScore(a.score)} ·
    <span class="verdict-${a.verdict}">${term(lang, 'v', a.verdict)}</span> · ${term(lang, 'l', a.label)} · ${stateCell(lang, a.state, a.decision)} ${claimNote(pc, a.claim)}
    <br>${fmtTime(a.publishedAt ?? a.receivedAt)} · ${a.lang}${a.declaredAi ? ` · ${t(lang, 'declaredAi')}` : ''}
  </div>
  ${labellingBlock(lang, a)}
  ${reasonsList(lang, a.reasons)}
  ${a.segments.length === 0 ? html`<p class="legend">${t(lang, 'segmentsNone')}</p>` : highlightLegend(lang)}
  ${highlighted(a, passages)}
</section>`;
}

export function groupPage(pc: PageContext, g: GroupDetail, charts?: Html): Html {
  const { lang } = pc;
  const texts = g.articles.slice(0, 12).map((a) => a.text);
  const aligned = g.kind === 'cluster' ? alignPassages(texts) : [];
  const passagesByArticle = g.articles.map((_, i) =>
    aligned.flatMap((p) => {
      const cell = p.cells[i];
      return cell ? [{ start: cell.start, end: cell.end, passage: p.index }] : [];
    }),
  );
  const title = `${t(lang, g.kind === 'cluster' ? 'cluster' : 'batch')} ${g.id}`;
  const summary = html`<p class="muted" data-testid="group-summary">${t(lang, 'members')}: ${g.members}
  ${g.cluster ? html` · ${t(lang, 'accounts')}: ${g.cluster.accounts.length} · ${t(lang, 'span')}: ${g.cluster.spanSeconds}${t(lang, 'seconds')} · ${t(lang, 'similarity')}: ${fmtScore(g.cluster.maxSimilarity)}` : ''}
  · <a href="/console/audit${qs({ [g.kind]: g.id })}" data-testid="group-audit">${t(lang, 'audit')}</a></p>`;
  const alignedTable =
    g.kind !== 'cluster'
      ? ''
      : html`<h2>${t(lang, 'aligned')}</h2>${
          aligned.length === 0
            ? html`<p class="muted">${t(lang, 'alignedNone')}</p>`
            : html`<p class="legend">${t(lang, 'diffLegend')}</p><div class="cards-scroll"><table class="aligned" data-testid="aligned"><thead><tr><th>#</th>${g.articles.slice(0, 12).map((a) => html`<th>${a.accountId}</th>`)}</tr></thead><tbody>${aligned.map(
                (p) =>
                  html`<tr><td><span class="dup dup${String(p.index % 8)}">${p.index + 1}</span></td>${p.cells.map((c, i) => (c ? html`<td>${diffCell(c.text, p.cells, i)}</td>` : html`<td class="gap">—</td>`))}</tr>`,
              )}</tbody></table></div>`
        }`;
  return layout(
    pc,
    title,
    html`<h1>${title}</h1>${summary}${countsBar(lang, g.counts)}${charts ?? ''}
<form method="post" action="/console/decide" data-bulk>
${bulkActions(pc, { type: g.kind, id: g.id, open: g.counts.total - g.counts.byState.decided })}
${alignedTable}
<h2>${t(lang, 'articles')}</h2>
<div class="cards" data-testid="cards">${g.articles.map((a, i) => articleCard(pc, a, passagesByArticle[i] ?? []))}</div>
</form>`,
  );
}

export function articlePage(pc: PageContext, a: ReviewArticle, events: AuditEvent[]): Html {
  return layout(
    pc,
    a.title ?? a.externalId,
    html`<form method="post" action="/console/decide" data-bulk class="article">
${bulkActions(pc)}
${articleCard(pc, a)}
</form>
${a.clusterId ? html`<p><a href="/console/clusters/${encodeURIComponent(a.clusterId)}">${t(pc.lang, 'cluster')} ${a.clusterId}</a></p>` : ''}
<h2>${t(pc.lang, 'audit')}</h2>${auditTable(pc, events)}`,
  );
}

export function accountPage(pc: PageContext, view: Awaited<ReturnType<ReviewService['account']>>, timeline?: Html): Html {
  const { lang } = pc;
  return layout(
    pc,
    `${t(lang, 'account')} ${view.accountId}`,
    html`<h1>${t(lang, 'account')} ${view.accountId}</h1>
<div class="counts">
  <span>${t(lang, 'total')}: <b>${view.total}</b></span>
  ${Object.entries(view.byVerdict).map(([k, v]) => html`<span>${term(lang, 'v', k)}: <b>${v}</b></span>`)}
  ${Object.entries(view.byState).map(([k, v]) => html`<span>${t(lang, `st_${k}` as MessageKey)}: <b>${v}</b></span>`)}
</div>
${timeline ?? ''}
<h2>${t(lang, 'clusters')}</h2>
${view.clusters.length === 0 ? html`<p class="muted">${t(lang, 'none')}</p>` : html`<ul>${view.clusters.map((c) => html`<li><a href="/console/clusters/${encodeURIComponent(c.id)}">${c.id}</a> · ${c.size} / ${c.accountCount} ${t(lang, 'accounts')}</li>`)}</ul>`}
<h2>${t(lang, 'signals')}</h2>
<table><thead><tr><th>${t(lang, 'time')}</th><th>${t(lang, 'score')}</th><th>${t(lang, 'verdict')}</th><th>${t(lang, 'fired')}</th></tr></thead>
<tbody>${view.signals.map((s) => html`<tr><td>${fmtTime(s.at)}</td><td>${fmtScore(s.score)}</td><td>${term(lang, 'v', s.verdict)}</td><td>${s.fired.map((f) => `${f.code} (${f.strength.toFixed(2)})`).join(', ')}</td></tr>`)}</tbody></table>
<h2>${t(lang, 'articles')}</h2>
<table><thead><tr><th>${t(lang, 'titleCol')}</th><th>${t(lang, 'score')}</th><th>${t(lang, 'verdict')}</th><th>${t(lang, 'label')}</th><th>${t(lang, 'state')}</th><th>${t(lang, 'received')}</th></tr></thead>
<tbody>${view.articles.map((a) => html`<tr><td><a href="/console/articles/${encodeURIComponent(a.id)}">${short(a.title ?? a.externalId)}</a></td><td>${fmtScore(a.score)}</td><td>${a.verdict ? term(lang, 'v', a.verdict) : a.status}</td><td>${term(lang, 'l', a.label)}</td><td>${stateCell(lang, a.state, a.decision)}</td><td>${fmtTime(a.receivedAt)}</td></tr>`)}</tbody></table>`,
  );
}

function subjectLink(e: AuditEvent): Html {
  const path = e.subjectType === 'article' ? 'articles' : e.subjectType === 'cluster' ? 'clusters' : e.subjectType === 'batch' ? 'batches' : null;
  return path ? html`<a href="/console/${path}/${encodeURIComponent(e.subjectId)}">${e.subjectType} ${e.subjectId}</a>` : html`${e.subjectType} ${e.subjectId}`;
}

function auditTable(pc: PageContext, events: AuditEvent[]): Html {
  const { lang } = pc;
  if (events.length === 0) return html`<p class="muted">${t(lang, 'none')}</p>`;
  return html`<table data-testid="audit"><thead><tr><th>#</th><th>${t(lang, 'time')}</th><th>${t(lang, 'type')}</th><th>${t(lang, 'subject')}</th><th>${t(lang, 'actor')}</th><th>${t(lang, 'decision')}</th><th>${t(lang, 'versions')}</th></tr></thead>
<tbody>${events.map((e) => {
    const p = e.payload as { decision?: string; comment?: string | null; verdict?: string; score?: number };
    return html`<tr data-testid="audit-row"><td>${e.id}</td><td>${fmtTime(e.at)}</td><td>${e.type}</td><td>${subjectLink(e)}</td><td><a href="/console/audit${qs({ actor: e.actor })}">${e.actor}</a></td>
<td>${p.decision ?? p.verdict ?? ''}${p.comment ? html`<br><span class="muted">${p.comment}</span>` : ''}</td><td class="muted">${e.modelVersion ?? ''} ${e.configVersion ?? ''}</td></tr>`;
  })}</tbody></table>`;
}

export function auditPage(pc: PageContext, filters: Record<string, string | undefined>, page: { events: AuditEvent[]; nextCursor: string | null }): Html {
  const { lang } = pc;
  const field = (name: string, label: string) => html`<label>${label}<input type="text" name="${name}" value="${filters[name] ?? ''}"></label>`;
  return layout(
    pc,
    t(lang, 'audit'),
    html`<h1>${t(lang, 'audit')}</h1>
<form class="filters" method="get" action="/console/audit">
  ${field('article', t(lang, 'articles'))}${field('batch', t(lang, 'batch'))}${field('cluster', t(lang, 'cluster'))}${field('actor', t(lang, 'actor'))}${field('type', t(lang, 'type'))}
  <button class="primary" type="submit">${t(lang, 'filter')}</button>
  <span>${t(lang, 'export')}: <a href="/console/audit/export${qs({ ...filters, format: 'jsonl' })}">JSONL</a> · <a href="/console/audit/export${qs({ ...filters, format: 'csv' })}">CSV</a></span>
</form>
${auditTable(pc, page.events)}
${page.nextCursor ? html`<p><a href="/console/audit${qs({ ...filters, cursor: page.nextCursor })}">${t(lang, 'next')} →</a></p>` : ''}`,
  );
}

export function adminQueuesPage(
  pc: PageContext,
  queues: { name: string; counts: Record<string, number>; paused: boolean }[],
  failed: { queue: string; job: JobView }[],
  webhooks: WebhookView[],
): Html {
  const { lang } = pc;
  const s = pc.session as Session;
  return layout(
    pc,
    t(lang, 'adminQueues'),
    html`<h1>${t(lang, 'adminQueues')}</h1>
<table data-testid="queues"><thead><tr><th>${t(lang, 'queueName')}</th><th>${t(lang, 'waiting')}</th><th>${t(lang, 'active')}</th><th>${t(lang, 'delayed')}</th><th>${t(lang, 'failed')}</th><th>${t(lang, 'completed')}</th></tr></thead>
<tbody>${queues.map((q) => html`<tr><td>${q.name}${q.paused ? ' (paused)' : ''}</td><td>${q.counts.waiting ?? 0}</td><td>${q.counts.active ?? 0}</td><td>${q.counts.delayed ?? 0}</td><td>${q.counts.failed ?? 0}</td><td>${q.counts.completed ?? 0}</td></tr>`)}</tbody></table>
<h2>${t(lang, 'failedJobs')}</h2>
${
  failed.length === 0
    ? html`<p class="muted">${t(lang, 'none')}</p>`
    : html`<table><thead><tr><th>${t(lang, 'queueName')}</th><th>id</th><th>attempts</th><th>${t(lang, 'error')}</th><th>${t(lang, 'time')}</th><th></th></tr></thead>
<tbody>${failed.map(
        ({ queue, job: j }) => html`<tr><td>${queue}</td><td>${j.id}</td><td>${j.attemptsMade}/${j.attempts}</td><td>${j.failedReason ?? ''}</td><td>${fmtTime(j.finishedAt)}</td>
<td><form method="post" action="/console/admin/queues/retry"><input type="hidden" name="csrf" value="${s.csrf}"><input type="hidden" name="queue" value="${queue}"><input type="hidden" name="jobId" value="${j.id}"><button type="submit">${t(lang, 'retry')}</button></form></td></tr>`,
      )}</tbody></table>`
}
<h2>${t(lang, 'webhooks')}</h2>
${
  webhooks.length === 0
    ? html`<p class="muted">${t(lang, 'none')}</p>`
    : html`<table><thead><tr><th>URL</th><th>events</th><th>pending / delivered / ${t(lang, 'deadDeliveries')}</th><th></th></tr></thead>
<tbody>${webhooks.map(
        (
          w,
        ) => html`<tr><td>${w.url}${w.active ? '' : ' (inactive)'}</td><td>${w.events.join(', ')}</td><td>${w.deliveries.pending} / ${w.deliveries.delivered} / ${w.deliveries.dead}</td>
<td>${w.deliveries.dead > 0 ? html`<form method="post" action="/console/admin/webhooks/redrive"><input type="hidden" name="csrf" value="${s.csrf}"><input type="hidden" name="webhookId" value="${w.id}"><button type="submit">${t(lang, 'redrive')}</button></form>` : ''}</td></tr>`,
      )}</tbody></table>`
}`,
  );
}
