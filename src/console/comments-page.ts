import type { CommentCard, CommentGroup, CommentGrouping } from '../services/comment-review.ts';
import { COMMENT_DECISIONS, type CommentDecision } from '../store/comments.ts';
import { type Html, html, qs } from './html.ts';
import type { Lang } from './i18n.ts';
import { layout, type PageContext } from './pages.ts';
import type { Session } from './sessions.ts';

/**
 * The comment review page: flagged and review-verdict comments grouped by the article they
 * answer, the template they share or the account cluster; each comment beside its article's
 * title and the passage it matches. A decision applies to the ticked comments, or to the whole
 * template or account cluster when that scope is chosen (app.js confirms more than one item).
 * Its words live here, in both languages, beside the page that uses them.
 */

const WORDS = {
  en: {
    title: 'Comments',
    groupBy: 'Group by',
    g_none: 'No grouping',
    g_article: 'Article',
    g_template: 'Shared template',
    g_account_cluster: 'Account cluster',
    state: 'State',
    st_open: 'Open',
    st_decided: 'Decided',
    st_all: 'All',
    show: 'Show',
    comments: 'comments',
    accounts: 'accounts',
    article: 'Article',
    passage: 'Matching passage',
    noPassage: 'No passage of the article matches (or the article was not submitted).',
    empty: 'Nothing to review.',
    scopeSelected: 'Ticked comments',
    scopeGroup: 'The whole group',
    selectAll: 'Select all',
    selected: 'selected',
    note: 'Note',
    confirm: 'Apply "{d}" to {n} comments?',
    selectFirst: 'Tick comments first, or choose the whole group.',
    d_confirm_ai: 'AI comment',
    d_ai_declared_ok: 'Declared AI: fine',
    d_human: 'Human',
    d_escalate: 'Escalate',
    decided: 'decided',
    score: 'score',
    inTemplate: 'all in the template:',
  },
  zh: {
    title: '评论',
    groupBy: '分组',
    g_none: '不分组',
    g_article: '按文章',
    g_template: '按共用模板',
    g_account_cluster: '按账号团伙',
    state: '状态',
    st_open: '待处理',
    st_decided: '已处理',
    st_all: '全部',
    show: '显示',
    comments: '条评论',
    accounts: '个账号',
    article: '文章',
    passage: '匹配段落',
    noPassage: '文章中没有与之匹配的段落（或文章未提交）。',
    empty: '没有待审核的评论。',
    scopeSelected: '勾选的评论',
    scopeGroup: '整个分组',
    selectAll: '全选',
    selected: '已选',
    note: '备注',
    confirm: '确定将“{d}”应用到{n}条评论？',
    selectFirst: '请先勾选评论，或选择整个分组。',
    d_confirm_ai: 'AI评论',
    d_ai_declared_ok: '已声明AI：无问题',
    d_human: '真人',
    d_escalate: '升级处理',
    decided: '已处理',
    score: '分数',
    inTemplate: '模板共',
  },
} as const;
type Word = keyof (typeof WORDS)['en'];
const w = (lang: Lang, key: Word) => WORDS[lang][key];

export interface CommentPageQuery {
  group: CommentGrouping;
  state: 'open' | 'decided' | 'all';
}

function decisionButtons(lang: Lang): Html {
  return html`${COMMENT_DECISIONS.map((d) => html`<button type="submit" name="decision" value="${d}" data-testid="comment-decide-${d}">${w(lang, `d_${d}` as Word)}</button>`)}`;
}

function card(lang: Lang, c: CommentCard): Html {
  return html`<section class="card" data-item data-testid="comment-card">
  <label><input type="checkbox" name="commentIds" value="${c.id}" aria-label="${c.id}"> ${c.externalId}</label>
  <p class="text" data-testid="comment-text">${c.text}</p>
  <div class="meta">${c.accountId} · ${w(lang, 'score')} ${c.score === null ? '' : c.score.toFixed(2)} · <span class="verdict-${c.verdict ?? ''}">${c.verdict ?? ''}</span>
  ${c.decision ? html` · ${w(lang, 'decided')}: ${w(lang, `d_${c.decision}` as Word)}` : ''}</div>
  <ul class="reasons">${c.reasons.slice(0, 3).map((r) => html`<li>${r.message[lang]} <span class="muted">(${r.contribution >= 0 ? '+' : ''}${r.contribution.toFixed(2)})</span></li>`)}</ul>
  <div class="meta">${w(lang, 'article')}: <b data-testid="comment-article">${c.articleTitle ?? c.articleExternalId}</b></div>
  ${c.passage ? html`<blockquote class="passage" data-testid="comment-passage" title="${w(lang, 'passage')}">${c.passage.text}</blockquote>` : html`<p class="legend">${w(lang, 'noPassage')}</p>`}
</section>`;
}

function groupForm(pc: PageContext, g: CommentGroup): Html {
  const { lang } = pc;
  const s = pc.session as Session;
  const scoped =
    g.type === 'template' && g.key.startsWith('tpl_')
      ? { name: 'templateId', id: g.key }
      : g.type === 'account_cluster' && g.key.startsWith('acl_')
        ? { name: 'accountClusterId', id: g.key }
        : null;
  const heading = g.type === 'article' ? `${w(lang, 'article')}: ${g.title ?? g.key}` : g.type === 'none' ? w(lang, 'title') : `${w(lang, `g_${g.type}` as Word)}: ${g.key}`;
  return html`<form method="post" action="/console/comments/decide" data-bulk data-testid="comment-group" data-group-key="${g.key}">
<h2>${heading} <span class="muted">· ${g.comments.length} ${w(lang, 'comments')} · ${g.accounts.length} ${w(lang, 'accounts')}${g.size > g.comments.length ? html` · ${w(lang, 'inTemplate')} ${String(g.size)}` : ''}</span></h2>
<div class="actions" data-confirm="${w(lang, 'confirm')}" data-select-first="${w(lang, 'selectFirst')}" data-group-count="${String(g.size)}">
  <input type="hidden" name="csrf" value="${s.csrf}">
  <input type="hidden" name="back" value="${pc.here}">
  <label><input type="checkbox" data-select-all> ${w(lang, 'selectAll')}</label>
  <span class="muted"><span data-selected-count>0</span> ${w(lang, 'selected')}</span>
  ${
    scoped
      ? html`<input type="hidden" name="${scoped.name}" value="${scoped.id}">
  <select name="scope" data-testid="comment-scope"><option value="selected">${w(lang, 'scopeSelected')}</option><option value="group">${w(lang, 'scopeGroup')}</option></select>`
      : ''
  }
  <input type="text" name="note" maxlength="2000" placeholder="${w(lang, 'note')}" aria-label="${w(lang, 'note')}">
  ${decisionButtons(lang)}
</div>
<div class="cards">${g.comments.map((c) => card(lang, c))}</div>
</form>`;
}

export function commentsPage(pc: PageContext, query: CommentPageQuery, result: { groups: CommentGroup[]; total: number }): Html {
  const { lang } = pc;
  const option = (value: string, current: string, label: string) => html`<option value="${value}"${value === current ? html` selected` : ''}>${label}</option>`;
  return layout(
    pc,
    w(lang, 'title'),
    html`<h1>${w(lang, 'title')} <span class="muted" data-testid="comment-total">${String(result.total)}</span></h1>
<form class="filters" method="get" action="/console/comments">
  <label>${w(lang, 'groupBy')}<select name="group" data-testid="comment-group-by">${(['template', 'article', 'account_cluster', 'none'] as const).map((g) => option(g, query.group, w(lang, `g_${g}` as Word)))}</select></label>
  <label>${w(lang, 'state')}<select name="state">${(['open', 'decided', 'all'] as const).map((s) => option(s, query.state, w(lang, `st_${s}` as Word)))}</select></label>
  <button type="submit">${w(lang, 'show')}</button>
  <a href="/console/comments${qs({ group: query.group, state: 'all' })}">${w(lang, 'st_all')}</a>
</form>
${result.groups.length === 0 ? html`<p class="muted" data-testid="comment-empty">${w(lang, 'empty')}</p>` : result.groups.map((g) => groupForm(pc, g))}`,
  );
}

export function isCommentDecision(value: unknown): value is CommentDecision {
  return typeof value === 'string' && (COMMENT_DECISIONS as readonly string[]).includes(value);
}
