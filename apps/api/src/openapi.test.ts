import { type Config, defineTask, registerTask, TASKS } from '@taskfleet/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildOpenApi } from './openapi.ts';
import { docsRoutes } from './routes/docs.ts';

type Doc = {
  openapi: string;
  servers?: { url: string }[];
  paths: Record<string, Record<string, { operationId: string }>>;
  components: { schemas: Record<string, any> };
};

/** Every `$ref` in the document, with whether its JSON pointer leads somewhere. */
function refs(doc: unknown): { ref: string; resolves: boolean }[] {
  const found = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1] as string);
  return found.map((ref) => {
    let node: any = ref.startsWith('#/') ? doc : undefined;
    for (const part of ref.slice(2).split('/')) node = node?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    return { ref, resolves: node !== undefined };
  });
}

describe('OpenAPI document', () => {
  const spec = buildOpenApi('http://api.example') as Doc;

  it('lists enqueue and batch operations for every task type with its payload schema', () => {
    for (const [name, def] of Object.entries(TASKS)) {
      if (def.internal) {
        // Made by the fleet (callback deliveries): not submittable, so not documented as such.
        expect(spec.paths[`/v1/queues/${name}/tasks`]?.post).toBeUndefined();
        continue;
      }
      expect(spec.paths[`/v1/queues/${name}/tasks`]?.post?.operationId).toBe(`enqueueTask_${name}`);
      expect(spec.paths[`/v1/queues/${name}/tasks:batch`]?.post?.operationId).toBe(`enqueueBatch_${name}`);
      expect(spec.components.schemas[`${name}.EnqueueRequest`].properties.payload).toEqual({
        $ref: `#/components/schemas/${name}.payload`,
      });
    }
    expect(spec.components.schemas['http.request.payload'].required).toEqual(['url']);
    expect(spec.components.schemas['noop.EnqueueRequest'].properties.priority.enum).toEqual(['critical', 'high', 'normal', 'low']);
    expect(spec.components.schemas['noop.EnqueueRequest'].additionalProperties).toBe(false);
    expect(spec.components.schemas['noop.EnqueueRequest'].properties.callback.properties.url.format).toBe('uri');
    expect(Object.keys(spec.components.schemas.Task.properties)).toEqual(expect.arrayContaining(['progress', 'callback']));
  });

  it('resolves every $ref it uses, recursive payload fields included', () => {
    const all = refs(spec);
    expect(all.length).toBeGreaterThan(20);
    expect(all.filter((r) => !r.resolves)).toEqual([]);
    expect(JSON.stringify(spec)).not.toContain('$defs');
    // z.json() fields are any JSON value; other recursive schemas become components that refer to themselves.
    expect(spec.components.schemas['noop.payload'].properties.echo).toEqual({ $ref: '#/components/schemas/JsonValue' });
    expect(spec.components.schemas['http.request.payload'].properties.body).toEqual({ $ref: '#/components/schemas/JsonValue' });
    expect(spec.components.schemas.JsonValue.type).toEqual(['string', 'number', 'boolean', 'null', 'array', 'object']);
  });

  it('gives every operation a unique operationId', () => {
    const ids = Object.values(spec.paths).flatMap((methods) => Object.values(methods).map((op) => op.operationId));
    expect(ids).toContain('getTask');
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents a task type registered at run time, its recursive payload too', () => {
    type Node = { name: string; children: Node[] };
    const node: z.ZodType<Node> = z.lazy(() => z.strictObject({ name: z.string(), children: z.array(node) }));
    registerTask(defineTask({ name: 'tree.walk', description: 'Walks a tree.', schema: z.strictObject({ root: node }) }));
    const doc = buildOpenApi() as Doc;
    expect(doc.paths['/v1/queues/tree.walk/tasks']?.post?.operationId).toBe('enqueueTask_tree.walk');
    expect(doc.components.schemas['tree.walk.payload'].properties.root).toEqual({ $ref: '#/components/schemas/tree.walk.payload.root' });
    expect(JSON.stringify(doc.components.schemas['tree.walk.payload.root'])).toContain(
      '"$ref":"#/components/schemas/tree.walk.payload.root"',
    );
    expect(refs(doc).filter((r) => !r.resolves)).toEqual([]);
    expect(doc.servers).toBeUndefined();
  });
});

describe('/openapi.json', () => {
  const config = (publicUrl: string | undefined) => ({ api: { publicUrl } }) as Config;

  it('names API_PUBLIC_URL as its server when set, else the origin of the request', async () => {
    const fromConfig = (await (await docsRoutes(config('https://tasks.example.org/')).request('/openapi.json')).json()) as Doc;
    expect(fromConfig.servers).toEqual([{ url: 'https://tasks.example.org' }]);
    const app = docsRoutes(config(undefined));
    const fromRequest = (await (await app.request('http://10.1.2.3:8080/openapi.json')).json()) as Doc;
    expect(fromRequest.servers).toEqual([{ url: 'http://10.1.2.3:8080' }]);
    expect(((await (await app.request('https://api.internal/openapi.json')).json()) as Doc).servers).toEqual([
      { url: 'https://api.internal' },
    ]);
  });
});
