/**
 * Request and response headers without the web `Headers` object where Node's own are at hand.
 *
 * Under @hono/node-server, `c.req.header()` builds a WHATWG `Headers` from every raw header of the
 * request, and a header set after the response exists (`c.header()` in a middleware after `next()`)
 * turns the server's lightweight response into a full web `Response` with a body stream. Together
 * they were the largest avoidable share of an enqueue's CPU and garbage (bench: ingest profile).
 * Node has already parsed the request headers (`incoming.headers`, lower-case names) and can carry
 * response headers set before the status line (`outgoing.setHeader`), so the hot path uses those;
 * without a Node request (`app.request()` in tests) both fall back to Hono's own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';

interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

/** Node's request under @hono/node-server; undefined under `app.request()`. */
export function nodeRequest(c: Context): IncomingMessage | undefined {
  return (c.env as NodeBindings | undefined)?.incoming;
}

/** A request header (`name` lower-case); values sent more than once are joined with ", ". */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = nodeRequest(c);
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Set a response header for whatever response this request ends with (success, problem+json or a
 * 404), before it exists. Returns false when there is no Node response to carry it: then the caller
 * sets it on Hono's response instead.
 */
export function presetResponseHeader(c: Context, name: string, value: string): boolean {
  const outgoing = (c.env as NodeBindings | undefined)?.outgoing;
  if (!outgoing || outgoing.headersSent) return false;
  outgoing.setHeader(name, value);
  return true;
}
