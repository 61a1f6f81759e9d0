import { ROLES } from '../domain/types.ts';
import type { KeyRecord } from '../services/keys.ts';
import { type Html, html } from './html.ts';
import type { Lang } from './i18n.ts';
import { layout, type PageContext } from './pages.ts';
import type { Session } from './sessions.ts';

/**
 * The admins' keys page: the tenant's keys (never their secrets), a form to create one (its
 * secret shown once, on the answer to that form only) and a revoke button per active key.
 */

const MESSAGES = {
  en: {
    title: 'API keys',
    id: 'Key',
    tenant: 'Tenant',
    role: 'Role',
    name: 'Name',
    created: 'Created',
    state: 'State',
    active: 'active',
    revoked: 'revoked',
    revoke: 'Revoke',
    create: 'Create a key',
    createButton: 'Create',
    tenantHint: 'empty: this tenant',
    secret: 'The new key, shown once: copy it now. Only its hash is stored.',
    none: 'No keys.',
  },
  zh: {
    title: 'API 密钥',
    id: '密钥',
    tenant: '租户',
    role: '角色',
    name: '名称',
    created: '创建时间',
    state: '状态',
    active: '有效',
    revoked: '已吊销',
    revoke: '吊销',
    create: '创建密钥',
    createButton: '创建',
    tenantHint: '留空:本租户',
    secret: '新密钥只显示这一次,请立即复制。系统只保存它的哈希。',
    none: '没有密钥。',
  },
} as const satisfies Record<Lang, Record<string, string>>;

const fmtTime = (d: Date | null) =>
  d
    ? new Date(d)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';

export function keysPage(pc: PageContext, keys: KeyRecord[], options: { operator: boolean; created?: { id: string; key: string; tenantId: string; role: string } }): Html {
  const m = MESSAGES[pc.lang];
  const s = pc.session as Session;
  return layout(
    pc,
    m.title,
    html`<h1>${m.title}</h1>
${
  options.created
    ? html`<div class="flash" role="status" data-testid="new-key"><p>${m.secret}</p><p>${options.created.id} · ${options.created.tenantId} · ${options.created.role}</p><p><code data-testid="secret">${options.created.key}</code></p></div>`
    : ''
}
<h2>${m.create}</h2>
<form method="post" action="/console/keys/create" data-testid="create-key">
  <input type="hidden" name="csrf" value="${s.csrf}">
  <label>${m.role} <select name="role">${ROLES.map((r) => html`<option value="${r}">${r}</option>`)}</select></label>
  <label>${m.name} <input name="name" maxlength="200"></label>
  ${options.operator ? html`<label>${m.tenant} <input name="tenant" maxlength="128" placeholder="${m.tenantHint}"></label>` : ''}
  <button class="primary" type="submit">${m.createButton}</button>
</form>
${
  keys.length === 0
    ? html`<p class="muted">${m.none}</p>`
    : html`<table data-testid="keys"><thead><tr><th>${m.id}</th><th>${m.tenant}</th><th>${m.role}</th><th>${m.name}</th><th>${m.created}</th><th>${m.state}</th><th></th></tr></thead>
<tbody>${keys.map(
        (k) => html`<tr><td>${k.id}</td><td>${k.tenantId}</td><td>${k.role}</td><td>${k.name}</td><td>${fmtTime(k.createdAt)}</td><td>${k.revokedAt ? m.revoked : m.active}</td>
<td>${k.revokedAt ? '' : html`<form method="post" action="/console/keys/revoke"><input type="hidden" name="csrf" value="${s.csrf}"><input type="hidden" name="keyId" value="${k.id}"><button type="submit">${m.revoke}</button></form>`}</td></tr>`,
      )}</tbody></table>`
}`,
  );
}
