/**
 * The API reference page, rendered on the server from the OpenAPI document: every operation
 * with its parameters, request and response schemas as field tables ($refs resolved), their
 * examples, and the error statuses it can answer. Plain HTML and one stylesheet: no script,
 * nothing from a CDN, so it works behind any firewall and under a strict CSP.
 */

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
  description?: string;
  example?: unknown;
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
};
type Media = { schema?: Schema; example?: unknown };
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema; description?: string }[];
  requestBody?: { content?: Record<string, Media>; required?: boolean };
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>;
};
export interface OpenApiDoc {
  info?: { title?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

export function renderDocs(doc: OpenApiDoc): string {
  const components = doc.components?.schemas ?? {};
  const resolve = (s: Schema | undefined): { schema: Schema; name?: string } => {
    if (!s?.$ref) return { schema: s ?? {} };
    const name = s.$ref.replace('#/components/schemas/', '');
    return { schema: components[name] ?? {}, name };
  };

  /** A short type label: `string`, `integer ≥ 0`, `"a" | "b"`, `Article[]`, `object`. */
  const typeOf = (raw: Schema | undefined, seen: Set<string>): string => {
    const { schema: s, name } = resolve(raw);
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
    if (s.const !== undefined) return JSON.stringify(s.const);
    const alts = s.anyOf ?? s.oneOf;
    if (alts) return alts.map((a) => typeOf(a, seen)).join(' | ');
    const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
    if (type === 'array') return `${typeOf(s.items, seen)}[]`;
    let label = name ?? type ?? 'any';
    if (s.format) label += ` (${s.format})`;
    if (s.minimum !== undefined) label += ` ≥ ${s.minimum}`;
    if (s.maximum !== undefined) label += ` ≤ ${s.maximum}`;
    if (s.maxLength !== undefined) label += `, ≤ ${s.maxLength} chars`;
    if (s.nullable) label += ' | null';
    return label;
  };

  /** Rows of a field table, nested objects indented under their field. */
  const rows = (raw: Schema | undefined, depth: number, seen: Set<string>): string => {
    const { schema: s, name } = resolve(raw);
    if (name) {
      if (seen.has(name)) return '';
      seen = new Set(seen).add(name);
    }
    const target = s.type === 'array' || (Array.isArray(s.type) && s.type.includes('array')) ? resolve(s.items).schema : s;
    const object = target.properties ? target : (target.anyOf ?? target.oneOf ?? []).map((a) => resolve(a).schema).find((a) => a.properties);
    if (!object?.properties || depth > 4) return '';
    const required = new Set(object.required ?? []);
    return Object.entries(object.properties)
      .map(([field, prop]) => {
        const notes = [prop.description, prop.default !== undefined ? `default ${JSON.stringify(prop.default)}` : ''].filter(Boolean).join('; ');
        return (
          `<tr><td style="padding-left:${0.4 + depth * 1.2}rem"><code>${esc(field)}</code>${required.has(field) ? '' : ' <span class="opt">optional</span>'}</td>` +
          `<td>${esc(typeOf(prop, seen))}</td><td>${esc(notes)}</td></tr>` +
          rows(prop, depth + 1, seen)
        );
      })
      .join('');
  };

  const schemaBlock = (media: Media | undefined, type: string): string => {
    if (!media?.schema) return '';
    const { schema } = resolve(media.schema);
    const table = rows(media.schema, 0, new Set());
    const example = media.example ?? schema.example;
    let out = `<div class="ct">${esc(type)}: <b>${esc(typeOf(media.schema, new Set()))}</b></div>`;
    if (table) out += `<table><tr><th>field</th><th>type</th><th></th></tr>${table}</table>`;
    if (example !== undefined) out += `<div class="ex">Example</div><pre>${esc(typeof example === 'string' ? example : JSON.stringify(example, null, 2))}</pre>`;
    return out;
  };

  const ops: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const id = op.operationId ?? `${method}-${path}`;
      let html = `<section class="op" id="${esc(id)}"><h2><span class="m ${method}">${method}</span> <code>${esc(path)}</code> <a class="id" href="#${esc(id)}">${esc(id)}</a></h2>`;
      if (op.summary) html += `<p>${esc(op.summary)}</p>`;
      if (op.description) html += `<p class="desc">${esc(op.description)}</p>`;
      if (op.parameters?.length) {
        html += '<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>type</th><th></th></tr>';
        for (const p of op.parameters) {
          const notes = [p.description ?? p.schema?.description, p.schema?.default !== undefined ? `default ${JSON.stringify(p.schema.default)}` : ''].filter(Boolean).join('; ');
          html += `<tr><td><code>${esc(p.name)}</code>${p.required ? '' : ' <span class="opt">optional</span>'}</td><td>${esc(p.in)}</td><td>${esc(typeOf(p.schema, new Set()))}</td><td>${esc(notes)}</td></tr>`;
        }
        html += '</table>';
      }
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) html += `<h3>Request body</h3>${schemaBlock(media, type)}`;
      const errors: string[] = [];
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (Number(status) >= 400) {
          errors.push(`<li><b>${esc(status)}</b> ${esc(response.description ?? '')}</li>`);
          continue;
        }
        html += `<h3>${esc(status)} ${esc(response.description ?? '')}</h3>`;
        for (const [type, media] of Object.entries(response.content ?? {})) html += schemaBlock(media, type);
      }
      if (errors.length) html += `<h3>Errors <a href="#error-shape">(shape)</a></h3><ul class="errs">${errors.join('')}</ul>`;
      ops.push(`${html}</section>`);
    }
  }
  const toc = ops.length
    ? `<nav>${Object.entries(doc.paths ?? {})
        .flatMap(([path, item]) =>
          METHODS.filter((m) => item[m]).map((m) => `<a href="#${esc(item[m]!.operationId ?? `${m}-${path}`)}"><span class="m ${m}">${m}</span> ${esc(path)}</a>`),
        )
        .join('')}</nav>`
    : '';
  const errorShape = components.Error
    ? `<section class="op" id="error-shape"><h2>Error shape</h2>${schemaBlock({ schema: { $ref: '#/components/schemas/Error' } }, 'application/json')}</section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info?.title ?? 'API')} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs.css"></head><body>
<h1>${esc(doc.info?.title ?? 'API')} API</h1>
<p>${esc(doc.info?.description ?? '')} Every request under <code>/v1</code> needs <code>Authorization: Bearer &lt;key&gt;</code>.
Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
${toc}
${ops.join('\n')}
${errorShape}
</body></html>`;
}

export const DOCS_CSS = `body{font:14px/1.5 system-ui,sans-serif;max-width:1080px;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem} h2{font-size:1.05rem;margin:.2rem 0} h3{font-size:.95rem;margin:.8rem 0 .3rem}
nav{columns:2;font-size:12px;margin:1rem 0} nav a{display:block;text-decoration:none;color:#222}
.op{border:1px solid #ddd;border-radius:6px;margin:.8rem 0;padding:.6rem .9rem}
.m{display:inline-block;min-width:4.5em;font-weight:700;text-transform:uppercase}
.get{color:#0a6} .post{color:#06c} .delete{color:#c30} .put,.patch{color:#a60}
.id{font-size:12px;color:#777;float:right} .desc{color:#444} .opt{color:#888;font-size:11px}
table{border-collapse:collapse;width:100%;font-size:13px} td,th{border-top:1px solid #eee;padding:.2rem .4rem;text-align:left;vertical-align:top}
.ct{color:#555;font-size:12px} .ex{font-size:12px;color:#555;margin-top:.4rem}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:12px;white-space:pre-wrap} code{font-size:13px} .errs{margin:.2rem 0;font-size:13px}
`;

/** No script at all, nothing from elsewhere, never framed. */
export const DOCS_CSP = "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
