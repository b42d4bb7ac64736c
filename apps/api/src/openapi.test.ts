import { describe, expect, it } from 'vitest';
import { TASKS } from '@taskfleet/core';
import { buildOpenApi } from './openapi.ts';

describe('OpenAPI document', () => {
  const spec = buildOpenApi('http://api.example') as {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
    components: { schemas: Record<string, any> };
  };

  it('lists enqueue and batch paths for every task type with its payload schema', () => {
    for (const name of Object.keys(TASKS)) {
      expect(spec.paths[`/v1/queues/${name}/tasks`]?.post).toBeDefined();
      expect(spec.paths[`/v1/queues/${name}/tasks:batch`]?.post).toBeDefined();
      expect(spec.components.schemas[`${name}.payload`]).toBeDefined();
    }
    expect(spec.components.schemas['http.request.payload'].required).toEqual(['url']);
    expect(spec.components.schemas.TaskOptions.properties.priority.enum).toEqual(['critical', 'high', 'normal', 'low']);
  });

  it('resolves every $ref it uses', () => {
    const refs = [...JSON.stringify(spec).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) expect(spec.components.schemas[ref], ref).toBeDefined();
  });
});
