/**
 * Reading a JSON body defensively: content type, size (413 before and while reading), UTF-8,
 * JSON syntax, and the values PostgreSQL's jsonb would reject later (NUL characters, lone
 * surrogates) or that would blow the stack (absurd nesting) — each a clear 4xx naming the field,
 * so nothing can fail half-way into the database.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { nodeRequest, requestHeader } from './headers.ts';
import { type FieldError, problems } from './problem.ts';

/** Deepest nesting accepted in a body. */
export const MAX_JSON_DEPTH = 64;

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const [type, ...params] = value
    .toLowerCase()
    .split(';')
    .map((s) => s.trim());
  if (!type || !(type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type))) return false;
  const charset = params.find((p) => p.startsWith('charset='));
  return !charset || charset === 'charset=utf-8' || charset === 'charset="utf-8"';
}

/** Read straight from Node's IncomingMessage when served by @hono/node-server: creating the web
 * Request and its ReadableStream costs more CPU than the rest of an enqueue (profiled). */
function readIncoming(incoming: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        incoming.resume(); // discard the rest; the 413 goes out once the handler returns
        reject(problems.tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(problems.badRequest(`The request body could not be read: ${err.message}`));
    };
    const cleanup = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
  });
}

async function readLimited(c: Context, limit: number): Promise<Uint8Array> {
  const declared = requestHeader(c, 'content-length');
  if (declared !== undefined && Number(declared) > limit) throw problems.tooLarge(limit);
  const incoming = nodeRequest(c);
  if (incoming && !incoming.readableDidRead && incoming.readable) return readIncoming(incoming, limit);
  const body = c.req.raw.body;
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw problems.tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export async function readJsonBody(c: Context, limit: number): Promise<unknown> {
  const contentType = requestHeader(c, 'content-type');
  if (!isJsonContentType(contentType)) throw problems.unsupportedMediaType(contentType);
  const bytes = await readLimited(c, limit);
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw problems.badRequest('The request body is not valid UTF-8.');
  }
  if (text.trim() === '') throw problems.badRequest('The request body is empty; expected a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw problems.badRequest(`The request body is not valid JSON: ${(err as Error).message}`);
  }
  const error = findUnstorableValue(value);
  if (error) throw problems.validation([error], 'The request body contains a value that cannot be stored.');
  return value;
}

function pathOf(parts: (string | number)[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out || '(body)';
}

function badString(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain NUL (\\u0000) characters';
  if (!s.isWellFormed()) return 'must not contain unpaired UTF-16 surrogates';
  return undefined;
}

/**
 * The first value jsonb cannot store, or nesting deeper than MAX_JSON_DEPTH. A walk that allocates
 * nothing per value (it ran on every enqueue: a path array per value was ~5 % of an enqueue's
 * garbage); on a finding it walks again, recording the path, to name the field. Recursion is
 * bounded: it stops below MAX_JSON_DEPTH + 1 levels.
 */
export function findUnstorableValue(root: unknown): FieldError | undefined {
  return firstProblem(root, 0) ? locateProblem(root, []) : undefined;
}

function firstProblem(value: unknown, depth: number): boolean {
  if (depth > MAX_JSON_DEPTH) return true;
  if (typeof value === 'string') return badString(value) !== undefined;
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (firstProblem(value[i], depth + 1)) return true;
    return false;
  }
  for (const key in value) {
    if (badString(key) !== undefined || firstProblem((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

/** The same walk, naming the first problem's field. */
function locateProblem(value: unknown, path: (string | number)[]): FieldError | undefined {
  if (path.length > MAX_JSON_DEPTH) return { field: pathOf(path.slice(0, 8)), message: `nests deeper than ${MAX_JSON_DEPTH} levels` };
  if (typeof value === 'string') {
    const problem = badString(value);
    return problem ? { field: pathOf(path), message: problem } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = locateProblem(value[i], [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  for (const key in value) {
    const problem = badString(key);
    if (problem) return { field: pathOf(path), message: `has a key that ${problem}` };
    const found = locateProblem((value as Record<string, unknown>)[key], [...path, key]);
    if (found) return found;
  }
  return undefined;
}
