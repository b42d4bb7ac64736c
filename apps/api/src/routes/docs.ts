/**
 * `/openapi.json`: the generated document (openapi.ts), with `servers` set per request to
 * API_PUBLIC_URL or else the request's own origin. `/docs`: a small self-contained HTML rendering of it.
 */
import type { Config } from '@taskfleet/core';
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';
import { buildOpenApi } from '../openapi.ts';
import { baseUrl } from './base-url.ts';

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function renderDocs(spec: Record<string, any>): string {
  const ops: string[] = [];
  for (const [path, methods] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody?.content?.['application/json']?.schema;
      ops.push(`<section><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
        <p><b>${esc(op.summary)}</b></p>${op.description ? `<p>${esc(op.description).replaceAll('\n', '<br>')}</p>` : ''}
        ${body ? `<details><summary>request body schema</summary><pre>${esc(JSON.stringify(body, null, 2))}</pre></details>` : ''}
        <p class="r">responses: ${Object.keys(op.responses ?? {})
          .map(esc)
          .join(', ')}</p></section>`);
    }
  }
  const schemas = Object.entries(spec.components.schemas as Record<string, unknown>)
    .map(([name, s]) => `<details><summary><code>${esc(name)}</code></summary><pre>${esc(JSON.stringify(s, null, 2))}</pre></details>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>taskfleet API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace}pre{background:#f5f5f5;padding:.75rem;overflow:auto}
section{border-top:1px solid #ddd;padding:.5rem 0}.m{display:inline-block;min-width:4em;font-size:12px;padding:2px 6px;border-radius:3px;color:#fff;background:#555}
.post{background:#2a7}.get{background:#27a}.r{color:#666;font-size:13px}</style></head><body>
<h1>${esc(spec.info.title)}</h1><p>${esc(spec.info.description)}</p><p>Machine-readable: <a href="/openapi.json">/openapi.json</a></p>
<h2>Endpoints</h2>${ops.join('')}<h2>Schemas</h2>${schemas}</body></html>`;
}

export function docsRoutes(config: Config): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const { openapi, info, ...rest } = buildOpenApi();
  const html = renderDocs({ openapi, info, ...rest });
  app.get('/openapi.json', (c) => c.json({ openapi, info, servers: [{ url: baseUrl(c, config) }], ...rest }));
  app.get('/docs', (c) => c.html(html));
  return app;
}
