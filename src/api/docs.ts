/**
 * A self-contained API reference page: it fetches /openapi.json and renders operations and
 * schemas with plain DOM calls (no CDN, no framework), so it works behind any firewall.
 * Script and style are separate files so the page runs under a CSP without inline code.
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>slopguard API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs.css"></head><body>
<h1>slopguard API</h1>
<p>Every request under <code>/v1</code> needs <code>Authorization: Bearer &lt;key&gt;</code>. Errors share one shape:
<code>{"error":{"code","message","requestId","details?"}}</code>. Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
<div id="ops">Loading…</div>
<script src="/docs.js"></script></body></html>`;

export const DOCS_CSS = `body{font:14px/1.5 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem} .op{border:1px solid #ddd;border-radius:6px;margin:.8rem 0;padding:.6rem .9rem}
.m{display:inline-block;min-width:4.5em;font-weight:700;text-transform:uppercase}
.get{color:#0a6} .post{color:#06c} .delete{color:#c30} .put,.patch{color:#a60}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:12px} code{font-size:13px}
`;

export const DOCS_JS = `fetch('/openapi.json').then(r => r.json()).then(doc => {
  const root = document.getElementById('ops'); root.textContent = '';
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const div = document.createElement('div'); div.className = 'op';
      const head = document.createElement('div');
      const m = document.createElement('span'); m.className = 'm ' + method; m.textContent = method;
      const p = document.createElement('code'); p.textContent = path;
      head.append(m, p); div.append(head);
      if (op.summary) { const s = document.createElement('div'); s.textContent = op.summary; div.append(s); }
      if (op.description) { const d = document.createElement('p'); d.textContent = op.description; div.append(d); }
      const body = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
      if (body) { const pre = document.createElement('pre'); pre.textContent = 'Body: ' + JSON.stringify(body.schema, null, 2); div.append(pre); }
      const codes = document.createElement('div'); codes.textContent = 'Responses: ' + Object.keys(op.responses || {}).join(', ');
      div.append(codes); root.append(div);
    }
  }
  const pre = document.createElement('pre'); pre.textContent = 'Schemas: ' + JSON.stringify((doc.components || {}).schemas, null, 2);
  root.append(pre);
});
`;

/** No inline code, nothing from elsewhere, never framed. */
export const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";
