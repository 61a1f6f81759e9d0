import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Logger } from 'pino';
import { KeyCreateInput, keyScope } from '../api/routes/keys.ts';
import { auditExport, AuditQuerySchema, QueueQuerySchema, toAuditQuery, toQueueQuery } from '../api/routes/review.ts';
import { ServiceError } from '../domain/errors.ts';
import { ERROR_STATUS } from '../api/errors.ts';
import { isStorableText, TEXT_RULE_MESSAGE } from '../domain/fields.ts';
import { DECISIONS, type Decision } from '../domain/review.ts';
import type { KeyService } from '../services/keys.ts';
import type { QueueAdmin } from '../services/queue-admin.ts';
import type { ReviewService, ReviewTarget } from '../services/review.ts';
import type { WebhookService } from '../webhooks/service.ts';
import type { DashboardService } from '../services/dashboard.ts';
import { accountTimelineSvg } from './charts/account-timeline.ts';
import { clusterGraphSvg, clusterTimelineSvg } from './charts/cluster.ts';
import { ct } from './charts/labels.ts';
import { dashboardPage } from './dashboard-page.ts';
import type { AppEnv } from '../api/env.ts';
import { type Html, html } from './html.ts';
import { type Lang, LANGS, pickLang, t } from './i18n.ts';
import { keysPage } from './keys-page.ts';
import { accountPage, adminQueuesPage, articlePage, auditPage, errorPage, groupPage, loginPage, type PageContext, queuePage } from './pages.ts';
import { sameSecret, type Session, type SessionStore } from './sessions.ts';
import { CommentQueueQuery } from '../api/routes/comment-review.ts';
import type { CommentReviewService, CommentTarget } from '../services/comment-review.ts';
import { commentsPage, isCommentDecision } from './comments-page.ts';

/**
 * The web console, served by the API under /console: server-rendered HTML and one small
 * script. Sign-in exchanges a moderator key for a server-side session (HttpOnly,
 * SameSite=Strict cookie); every state-changing request carries the session's CSRF token
 * and must come from this origin. Pages send a strict CSP (scripts and styles from 'self'
 * only, no inline code), nosniff and frame-ancestors 'none'.
 */

export interface ConsoleDeps {
  review: ReviewService;
  keys: KeyService;
  sessions: SessionStore;
  webhooks: WebhookService;
  queueAdmin: QueueAdmin;
  /** The charts' data: the dashboard, account timelines, cluster graphs. */
  dashboard: DashboardService;
  cookieSecure: 'auto' | 'true' | 'false';
  sessionTtlSeconds: number;
  /** Admins of this tenant manage every tenant's keys (BOOTSTRAP_TENANT). */
  operatorTenant: string;
  /** The comment review queue and decisions. */
  commentReview: CommentReviewService;
  log: Logger;
}

type ConsoleEnv = { Variables: AppEnv['Variables'] & { session: Session; token: string } };

const SESSION_COOKIE = 'sg_session';
const LOGIN_COOKIE = 'sg_login';
const STATIC: Record<string, { body: string; type: string }> = {
  'app.js': { body: readFileSync(new URL('./static/app.js', import.meta.url), 'utf8'), type: 'text/javascript; charset=utf-8' },
  'app.css': { body: readFileSync(new URL('./static/app.css', import.meta.url), 'utf8'), type: 'text/css; charset=utf-8' },
};

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  c.res.headers.set('Content-Security-Policy', CONSOLE_CSP);
  c.res.headers.set('X-Content-Type-Options', 'nosniff');
  c.res.headers.set('X-Frame-Options', 'DENY');
  // not no-referrer: with it Chromium sends `Origin: null` on same-origin form posts.
  c.res.headers.set('Referrer-Policy', 'same-origin');
  c.res.headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  c.res.headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store');
};

/** Only same-site paths inside the console are valid places to come back to. */
export function safeBack(back: unknown): string {
  if (typeof back !== 'string' || !back.startsWith('/console/') || back.startsWith('//') || /[\\\r\n]/.test(back)) return '/console/queue';
  return back;
}

function withFlash(back: string, flash: string): string {
  const url = new URL(back, 'http://x');
  url.searchParams.set('flash', flash);
  return url.pathname + url.search;
}

const FLASH_RE = /^(decided|claimed|released|error):([a-z_0-9]{1,40})(?::(\d{1,6}))?$/;

function flashMessage(lang: Lang, raw: string | undefined): string | null {
  const m = raw ? FLASH_RE.exec(raw) : null;
  if (!m) return null;
  const [, kind, a, b] = m;
  if (kind === 'decided') return t(lang, 'decided', { n: a ?? '0', u: b ?? '0' });
  if (kind === 'claimed') return t(lang, 'claimedMsg', { n: a ?? '0' });
  if (kind === 'released') return t(lang, 'releasedMsg', { n: a ?? '0' });
  return `${t(lang, 'error')}: ${a}`;
}

function nonEmpty(query: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== ''));
}

export function consoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<ConsoleEnv>();
  const { review, sessions } = deps;
  const secure = (c: Context) =>
    deps.cookieSecure === 'true' || (deps.cookieSecure === 'auto' && (new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https'));
  const pc = (c: Context<ConsoleEnv>): PageContext => {
    const session = c.get('session');
    const url = new URL(c.req.url);
    return { lang: session.lang, session, here: url.pathname + url.search, flash: flashMessage(session.lang, c.req.query('flash')) };
  };
  const page = (c: Context<ConsoleEnv>, body: Html, status = 200) => c.html(body.value, status as 200);

  app.use('*', securityHeaders);
  // Forms only: a bulk selection of 10,000 ids is well under this.
  app.use('*', bodyLimit({ maxSize: 2 * 1024 * 1024 }));
  app.onError((error, c) => {
    const session = (c as Context<ConsoleEnv>).get('session') as Session | undefined;
    const lang = session?.lang ?? pickLang(c.req.header('accept-language'));
    const context: PageContext = { lang, session: session ?? null, here: '/console/queue' };
    if (error instanceof ServiceError) return c.html(errorPage(context, ERROR_STATUS[error.code], error.message).value, ERROR_STATUS[error.code] as 400);
    c.get('log')?.error({ err: error }, 'console error');
    return c.html(errorPage(context, 500, 'internal error').value, 500);
  });

  app.get('/static/:file', (c) => {
    const name = c.req.param('file');
    const file = Object.hasOwn(STATIC, name) ? STATIC[name] : undefined;
    if (!file) return c.text('not found', 404);
    return c.body(file.body, 200, { 'Content-Type': file.type, 'Cache-Control': 'no-cache' });
  });

  // ---------------------------------------------------------------- sign in / out

  app.get('/login', (c) => {
    const queryLang = c.req.query('lang');
    const lang = (LANGS as readonly string[]).includes(queryLang ?? '') ? (queryLang as Lang) : pickLang(c.req.header('accept-language'));
    const csrf = randomBytes(24).toString('base64url');
    setCookie(c, LOGIN_COOKIE, csrf, { httpOnly: true, sameSite: 'Strict', path: '/console/login', secure: secure(c), maxAge: 1800 });
    return c.html(loginPage(lang, csrf, c.req.query('error') === '1').value);
  });

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const expected = getCookie(c, LOGIN_COOKIE);
    const lang: Lang = form.lang === 'zh' ? 'zh' : 'en';
    if (!expected || typeof form.csrf !== 'string' || !sameSecret(form.csrf, expected) || !sameOrigin(c)) {
      throw new ServiceError('forbidden', 'the sign-in form expired or came from another site; reload it');
    }
    deleteCookie(c, LOGIN_COOKIE, { path: '/console/login' });
    let principal: Awaited<ReturnType<KeyService['authenticate']>>;
    try {
      principal = await deps.keys.authenticate(typeof form.key === 'string' ? form.key.trim() : '');
    } catch (error) {
      if (error instanceof ServiceError && error.code === 'unauthorized') return c.redirect(`/console/login?error=1&lang=${lang}`, 303);
      throw error;
    }
    if (principal.role !== 'moderator' && principal.role !== 'admin') return c.redirect(`/console/login?error=1&lang=${lang}`, 303);
    const { token } = await sessions.create(principal, lang);
    setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Strict', path: '/console', secure: secure(c), maxAge: deps.sessionTtlSeconds });
    return c.redirect('/console', 303);
  });

  // Everything below needs a session; POSTs also need the CSRF token and this origin.
  app.use('*', async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    const session = await sessions.get(token);
    if (!session || !token) {
      if (c.req.method === 'GET') return c.redirect('/console/login', 303);
      throw new ServiceError('unauthorized', 'sign in first');
    }
    c.set('session', session);
    c.set('token', token);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const form = await c.req.parseBody({ all: true });
      const csrf = form.csrf;
      if (typeof csrf !== 'string' || !sameSecret(csrf, session.csrf) || !sameOrigin(c)) {
        throw new ServiceError('forbidden', 'missing or wrong CSRF token, or a request from another site');
      }
      // Every form field under the text rule (domain/fields.ts), as the API's bodies: a NUL in
      // an id would otherwise reach the database as a 500.
      const unstorable = Object.entries(form).filter(([name, v]) => !isStorableText(name) || ([] as unknown[]).concat(v).some((x) => typeof x === 'string' && !isStorableText(x)));
      if (unstorable.length > 0) throw new ServiceError('validation_failed', `${unstorable.map(([name]) => name).join(', ')}: ${TEXT_RULE_MESSAGE}`);
    }
    await next();
  });

  app.post('/logout', async (c) => {
    await sessions.destroy(c.get('token'));
    deleteCookie(c, SESSION_COOKIE, { path: '/console' });
    return c.redirect('/console/login', 303);
  });

  app.post('/lang', async (c) => {
    const form = await c.req.parseBody();
    const session = c.get('session');
    session.lang = form.lang === 'zh' ? 'zh' : 'en';
    await sessions.update(c.get('token'), session);
    return c.redirect(safeBack(form.back), 303);
  });

  // ---------------------------------------------------------------- pages

  app.get('/', async (c) => page(c, dashboardPage(pc(c), await deps.dashboard.overview(c.get('session').tenantId))));

  app.get('/queue', async (c) => {
    const query = nonEmpty(c.req.query());
    const parsed = QueueQuerySchema.safeParse(query);
    if (!parsed.success) throw new ServiceError('validation_failed', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const result = await review.queue(c.get('session').tenantId, toQueueQuery(parsed.data));
    const { group, sort, state } = parsed.data;
    return page(c, queuePage(pc(c), { ...query, group, sort, state }, result));
  });

  app.get('/batches/:id', async (c) => page(c, groupPage(pc(c), await review.group(c.get('session').tenantId, 'batch', c.req.param('id')))));
  app.get('/clusters/:id', async (c) => {
    const tenantId = c.get('session').tenantId;
    const group = await review.group(tenantId, 'cluster', c.req.param('id'));
    const graph = await deps.dashboard.clusterGraph(tenantId, group.id);
    const lang = c.get('session').lang;
    const charts = graph ? html`<h2>${ct(lang, 'clusterTimeline')}</h2>${clusterTimelineSvg(graph, lang)}<h2>${ct(lang, 'graph')}</h2>${clusterGraphSvg(graph, lang)}` : undefined;
    return page(c, groupPage(pc(c), group, charts));
  });
  app.get('/articles/:id', async (c) => {
    const tenantId = c.get('session').tenantId;
    const article = await review.article(tenantId, c.req.param('id'));
    const events = await review.audit(tenantId, { articleId: article.id, limit: 200, newestFirst: true });
    return page(c, articlePage(pc(c), article, events.events));
  });
  app.get('/accounts/:id', async (c) => {
    const tenantId = c.get('session').tenantId;
    const view = await review.account(tenantId, c.req.param('id'));
    const timeline = await deps.dashboard.accountTimeline(tenantId, view.accountId);
    const lang = c.get('session').lang;
    return page(c, accountPage(pc(c), view, timeline ? html`<h2>${ct(lang, 'timeline')}</h2>${accountTimelineSvg(timeline, lang)}` : undefined));
  });

  app.get('/audit', async (c) => {
    const query = nonEmpty(c.req.query());
    delete query.flash;
    const parsed = AuditQuerySchema.safeParse(query);
    if (!parsed.success) throw new ServiceError('validation_failed', 'invalid audit filter');
    // The log reads newest first; the export keeps id order.
    const result = await review.audit(c.get('session').tenantId, { ...toAuditQuery(parsed.data), newestFirst: true });
    const { cursor: _cursor, ...filters } = query;
    return page(c, auditPage(pc(c), filters, result));
  });
  app.get('/audit/export', async (c) => {
    const parsed = AuditQuerySchema.safeParse(nonEmpty(c.req.query()));
    if (!parsed.success || parsed.data.format === 'json') throw new ServiceError('validation_failed', 'invalid audit export');
    return auditExport(c as unknown as Context<AppEnv>, review, c.get('session').tenantId, toAuditQuery(parsed.data), parsed.data.format);
  });

  // ---------------------------------------------------------------- actions

  const targetOf = (form: Record<string, string | File | (string | File)[]>): ReviewTarget | null => {
    const ids = ([] as (string | File)[]).concat(form.articleIds ?? []).filter((v): v is string => typeof v === 'string');
    if (form.scope === 'group' && typeof form.batchId === 'string') return { type: 'batch', id: form.batchId };
    if (form.scope === 'group' && typeof form.clusterId === 'string') return { type: 'cluster', id: form.clusterId };
    return ids.length > 0 ? { type: 'selection', articleIds: ids } : null;
  };
  const act =
    (handler: (c: Context<ConsoleEnv>, form: Record<string, string | File | (string | File)[]>, target: ReviewTarget) => Promise<string>) => async (c: Context<ConsoleEnv>) => {
      const form = await c.req.parseBody({ all: true });
      const back = safeBack(form.back);
      const target = targetOf(form);
      if (!target) return c.redirect(withFlash(back, 'error:nothing_selected'), 303);
      try {
        return c.redirect(withFlash(back, await handler(c, form, target)), 303);
      } catch (error) {
        if (error instanceof ServiceError && error.code !== 'internal_error') return c.redirect(withFlash(back, `error:${error.code}`), 303);
        throw error;
      }
    };
  const who = (c: Context<ConsoleEnv>) => ({ tenantId: c.get('session').tenantId, keyId: c.get('session').keyId });

  app.post(
    '/decide',
    act(async (c, form, target) => {
      const decision = form.decision;
      if (typeof decision !== 'string' || !(DECISIONS as readonly string[]).includes(decision)) throw new ServiceError('validation_failed', 'pick a decision');
      const comment = typeof form.comment === 'string' && form.comment.trim() ? form.comment.trim().slice(0, 2000) : null;
      const result = await review.decide(who(c), target, decision as Decision, comment);
      return `decided:${result.decided}:${result.unchanged}`;
    }),
  );
  app.post(
    '/claim',
    act(async (c, _form, target) => `claimed:${(await review.claim(who(c), target)).claimed.length}`),
  );
  app.post(
    '/release',
    act(async (c, _form, target) => `released:${(await review.release(who(c), target)).released}`),
  );

  // ---------------------------------------------------------------- comments

  app.get('/comments', async (c) => {
    const query = nonEmpty(c.req.query());
    delete query.flash;
    const parsed = CommentQueueQuery.safeParse(query);
    if (!parsed.success) throw new ServiceError('validation_failed', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const result = await deps.commentReview.queue(c.get('session').tenantId, parsed.data);
    return page(c, commentsPage(pc(c), { group: parsed.data.group, state: parsed.data.state }, result));
  });
  app.post('/comments/decide', async (c) => {
    const form = await c.req.parseBody({ all: true });
    const back = safeBack(form.back);
    const ids = ([] as (string | File)[]).concat(form.commentIds ?? []).filter((v): v is string => typeof v === 'string');
    const target: CommentTarget | null =
      form.scope === 'group' && typeof form.templateId === 'string'
        ? { type: 'template', templateId: form.templateId }
        : form.scope === 'group' && typeof form.accountClusterId === 'string'
          ? { type: 'account_cluster', clusterId: form.accountClusterId }
          : ids.length > 0
            ? { type: 'comments', commentIds: ids }
            : null;
    if (!target) return c.redirect(withFlash(back, 'error:nothing_selected'), 303);
    if (!isCommentDecision(form.decision)) return c.redirect(withFlash(back, 'error:validation_failed'), 303);
    const note = typeof form.note === 'string' && form.note.trim() ? form.note.trim().slice(0, 2000) : null;
    try {
      const result = await deps.commentReview.decide({ tenantId: c.get('session').tenantId, keyId: c.get('session').keyId }, target, form.decision, note);
      return c.redirect(withFlash(back, `decided:${result.decided}:${result.unchanged}`), 303);
    } catch (error) {
      if (error instanceof ServiceError && error.code !== 'internal_error') return c.redirect(withFlash(back, `error:${error.code}`), 303);
      throw error;
    }
  });

  // ---------------------------------------------------------------- admin: queue dashboard

  const adminOnly: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
    if (c.get('session').role !== 'admin') throw new ServiceError('forbidden', 'admins only');
    await next();
  };
  app.get('/admin/queues', adminOnly, async (c) => {
    const tenantId = c.get('session').tenantId;
    const overview = await deps.queueAdmin.overview();
    const failed = (await Promise.all(overview.map(async (q) => (await deps.queueAdmin.jobs(q.name, 'failed', tenantId, 50)).map((job) => ({ queue: q.name, job }))))).flat();
    return page(c, adminQueuesPage(pc(c), overview, failed, await deps.webhooks.list(tenantId)));
  });
  app.post('/admin/queues/retry', adminOnly, async (c) => {
    const form = await c.req.parseBody();
    await deps.queueAdmin.retry(String(form.queue ?? ''), String(form.jobId ?? ''), c.get('session').tenantId);
    return c.redirect('/console/admin/queues', 303);
  });
  app.post('/admin/webhooks/redrive', adminOnly, async (c) => {
    const form = await c.req.parseBody();
    const s = c.get('session');
    await deps.webhooks.redrive(s.tenantId, s.keyId, String(form.webhookId ?? ''));
    return c.redirect('/console/admin/queues', 303);
  });

  // ---------------------------------------------------------------- admin: API keys

  const keysOf = (c: Context<ConsoleEnv>) => {
    const { tenantId } = c.get('session');
    return deps.keys.list({ tenantId: tenantId === deps.operatorTenant ? undefined : tenantId });
  };
  app.get('/keys', adminOnly, async (c) => page(c, keysPage(pc(c), await keysOf(c), { operator: c.get('session').tenantId === deps.operatorTenant })));
  app.post('/keys/create', adminOnly, async (c) => {
    const form = await c.req.parseBody();
    const session = c.get('session');
    const str = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
    const parsed = KeyCreateInput.safeParse({ role: form.role, name: str(form.name) ?? '', ...(str(form.tenant) ? { tenant: str(form.tenant) } : {}) });
    if (!parsed.success) throw new ServiceError('validation_failed', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const tenant = keyScope(session, parsed.data.tenant, deps.operatorTenant);
    if (tenant === undefined) throw new ServiceError('validation_failed', 'tenant: "all" is not a tenant');
    const created = await deps.keys.create(tenant, parsed.data.role, parsed.data.name, session.keyId);
    // The secret goes in this answer only: not in a redirect's URL, not in a flash.
    c.header('Cache-Control', 'no-store');
    const shown = { id: created.keyId, key: created.key, tenantId: tenant, role: created.role };
    return page(c, keysPage(pc(c), await keysOf(c), { operator: session.tenantId === deps.operatorTenant, created: shown }), 201);
  });
  app.post('/keys/revoke', adminOnly, async (c) => {
    const form = await c.req.parseBody();
    const session = c.get('session');
    const id = typeof form.keyId === 'string' ? form.keyId : '';
    const revoked = await deps.keys.revoke(id, { tenantId: session.tenantId === deps.operatorTenant ? undefined : session.tenantId, actor: session.keyId });
    if (!revoked) throw new ServiceError('not_found', 'no such key');
    return c.redirect('/console/keys', 303);
  });

  return app;
}

/** The request's Origin (or, lacking it, Sec-Fetch-Site) must say it came from this site. */
function sameOrigin(c: Context): boolean {
  const origin = c.req.header('origin');
  if (origin) {
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    try {
      return new URL(origin).host === host;
    } catch {
      return false;
    }
  }
  const site = c.req.header('sec-fetch-site');
  return site === undefined || site === 'same-origin' || site === 'none';
}
