/**
 * A task type's payload schema as an OpenAPI component, `<type>.payload`, from the task registry's
 * own zod schema. Lazy (recursive) schemas inside it need a name of their own, or zod-to-openapi
 * would follow them forever: a `z.json()` field becomes a reference to `JsonValue` (any JSON value),
 * any other lazy a component named after the field it sits in (`<type>.payload.<field>`), so its
 * recursion is a `$ref` the document resolves. Naming attaches OpenAPI metadata only: what the
 * schema accepts is unchanged.
 */
import { z } from '@hono/zod-openapi';
import type { TaskDefinition } from '@taskfleet/core';
import { ANY_JSON } from './openapi-schemas.ts';

/**
 * `.openapi()` of a schema from elsewhere. zod copies prototype members onto each schema when it
 * is built, so a schema built before @hono/zod-openapi extended zod (the registry's, when
 * @taskfleet/core is imported first) has no method of its own: call the prototype's.
 */
const openapi = (schema: z.ZodType, ...args: Parameters<z.ZodType['openapi']>): z.ZodType =>
  z.ZodType.prototype.openapi.apply(schema, args) as z.ZodType;

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  getter?: () => z.ZodType;
  options?: z.ZodType[];
  items?: z.ZodType[];
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
};
const WRAPPED = ['innerType', 'element', 'in', 'out', 'keyType', 'valueType', 'left', 'right', 'rest', 'catchall'] as const;
const defOf = (schema: z.ZodType) => schema._zod.def as unknown as Def;

function children(def: Def): [string, z.ZodType][] {
  const found: [string, z.ZodType][] = Object.entries(def.shape ?? {}).map(([key, child]) => [`.${key}`, child]);
  for (const key of WRAPPED) {
    const child = (def as Record<string, unknown>)[key];
    if (child instanceof z.ZodType) found.push(['', child]);
  }
  for (const child of [...(def.options ?? []), ...(def.items ?? [])]) found.push(['', child]);
  return found;
}

/** Is this lazy z.json(): string, number, boolean, null, or an array or string-keyed record of itself? */
function isJsonValue(lazy: z.ZodType, def: Def): boolean {
  const options = def.getter && defOf(def.getter()).type === 'union' ? (defOf(def.getter()).options ?? []) : [];
  const types = options.map((o) => defOf(o));
  return (
    types.map((t) => t.type).join() === 'string,number,boolean,null,array,record' &&
    types[4]?.element === lazy &&
    types[5]?.valueType === lazy &&
    defOf(types[5]?.keyType as z.ZodType).type === 'string'
  );
}

/** Give every lazy schema reachable from `schema` a component name. */
function nameLazies(schema: z.ZodType, path: string, seen: Set<z.ZodType>, names: Set<string>): void {
  if (seen.has(schema)) return;
  seen.add(schema);
  const def = defOf(schema);
  if (def.type === 'lazy' && def.getter) {
    // On a lazy, zod-to-openapi records the name on the instance itself.
    if (isJsonValue(schema, def)) {
      openapi(schema, 'JsonValue', ANY_JSON);
      return;
    }
    let name = path;
    for (let n = 2; names.has(name); n++) name = `${path}_${n}`;
    names.add(name);
    openapi(schema, name);
    nameLazies(def.getter(), name, seen, names);
    return;
  }
  for (const [suffix, child] of children(def)) nameLazies(child, `${path}${suffix}`, seen, names);
}

const named = new WeakMap<TaskDefinition, z.ZodType>();

/** The payload schema of a task type, named `<type>.payload` in the document. */
export function payloadSchema(def: TaskDefinition): z.ZodType {
  let schema = named.get(def);
  if (!schema) {
    const name = `${def.name}.payload`;
    nameLazies(def.schema, name, new Set(), new Set([name]));
    schema = openapi(def.schema, name, { description: `${def.name} task payload` });
    named.set(def, schema);
  }
  return schema;
}
