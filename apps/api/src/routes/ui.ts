/**
 * The dashboard's static shell under /ui (HTML, one ES module, one stylesheet — no build step). The
 * shell holds no data: every number comes from /v1 with the API key typed into it, so the dashboard
 * is behind the same auth and scopes as the API.
 */
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import type { AppEnv } from '../env.ts';

const dir = new URL('../ui/', import.meta.url);
const FILES: Record<string, { body: string; type: string }> = {
  'index.html': { body: readFileSync(new URL('index.html', dir), 'utf8'), type: 'text/html; charset=utf-8' },
  'app.js': { body: readFileSync(new URL('app.js', dir), 'utf8'), type: 'text/javascript; charset=utf-8' },
  'style.css': { body: readFileSync(new URL('style.css', dir), 'utf8'), type: 'text/css; charset=utf-8' },
  'schedules.js': { body: readFileSync(new URL('schedules.js', dir), 'utf8'), type: 'text/javascript; charset=utf-8' },
};
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function uiRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const serve = (name: string) => {
    const file = FILES[name] as { body: string; type: string };
    return new Response(file.body, { headers: { 'content-type': file.type, ...SECURITY_HEADERS } });
  };
  app.get('/ui', () => serve('index.html'));
  app.get('/ui/', () => serve('index.html'));
  app.get('/ui/:file{app\\.js|schedules\\.js|style\\.css}', (c) => serve(c.req.param('file')));
  return app;
}
