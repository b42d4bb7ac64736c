/**
 * Task modules: a deployment's own task types without forking packages/core. A module (path or
 * package name in TASK_MODULES, loaded by migrate, the API and the worker alike) exports
 * `tasks`: an array of `{ definition, handle }` — `definition` from `defineTask`, `handle(payload, ctx)`
 * the worker's handler. The API and migrations need only the definitions.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TaskDefinition } from './define.ts';
import { registerTask } from './registry.ts';

export interface TaskModuleEntry {
  definition: TaskDefinition;
  /** The worker's handler; its context is the worker's TaskContext. */
  handle: (payload: unknown, ctx: never) => Promise<unknown>;
}

/** A file path (relative to the working directory, or absolute) or a package name. */
function specifierOf(spec: string): string {
  const isFile = spec.startsWith('.') || path.isAbsolute(spec) || /\.(c|m)?(j|t)s$/.test(spec);
  return isFile ? pathToFileURL(path.resolve(spec)).href : spec;
}

/** Import each module, register its task types, return its entries (for the worker's handlers). */
export async function loadTaskModules(specs: readonly string[]): Promise<TaskModuleEntry[]> {
  const entries: TaskModuleEntry[] = [];
  for (const spec of specs) {
    let mod: { tasks?: unknown };
    try {
      mod = (await import(specifierOf(spec))) as { tasks?: unknown };
    } catch (err) {
      throw new Error(`TASK_MODULES: cannot load ${JSON.stringify(spec)}: ${(err as Error).message}`, { cause: err });
    }
    if (!Array.isArray(mod.tasks)) throw new Error(`TASK_MODULES: ${JSON.stringify(spec)} does not export a \`tasks\` array`);
    for (const entry of mod.tasks as TaskModuleEntry[]) {
      if (!entry?.definition?.name || typeof entry.handle !== 'function') {
        throw new Error(`TASK_MODULES: ${JSON.stringify(spec)} has an entry without { definition, handle }`);
      }
      registerTask(entry.definition);
      entries.push(entry);
    }
  }
  return entries;
}
