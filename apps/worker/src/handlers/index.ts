/**
 * The handler map: one entry per task type in packages/core. Adding a task type = its definition in
 * packages/core/src/tasks/ + one handler file here + one line below. The worker refuses to start if
 * a registered task type has no handler.
 */
import { callbackTask, type Config, type ExecuteSql, taskNames } from '@taskfleet/core';
import { createCallbackHandler } from './callback.ts';
import { createHttpRequestHandler } from './http-request.ts';
import { createHttpSender } from './http-sender.ts';
import { noopHandler } from './noop.ts';
import type { HandlerEntry } from './types.ts';

export interface Handlers {
  get(queue: string): HandlerEntry | undefined;
  close(): Promise<void>;
}

/**
 * `executeSql` serves the fleet-wide per-host limits of http.request (none without it; with several
 * shards, the home shard's: one place for the whole fleet) and the callback deliveries' task reads
 * (no callback handler without it); `taskReads` lists the databases that may hold a task, the
 * shard its id names first (a delivery is made by a trigger next to its task; an id stamped with
 * no shard, e.g. a schedule's, may be on any), `executeSql` alone without it.
 */
export function createHandlers(
  config: Config,
  extra: HandlerEntry[] = [],
  executeSql?: ExecuteSql,
  taskReads?: (taskId: string) => ExecuteSql[],
): Handlers {
  const sender = createHttpSender(config);
  const http = createHttpRequestHandler(config, executeSql, sender);
  const map = new Map<string, HandlerEntry>([
    [noopHandler.definition.name, noopHandler],
    [http.definition.name, http],
  ]);
  if (executeSql) map.set(callbackTask.name, createCallbackHandler(config, taskReads ?? (() => [executeSql]), sender));
  for (const entry of extra) map.set(entry.definition.name, entry);
  const missing = taskNames().filter((name) => !map.has(name));
  if (missing.length) throw new Error(`no handler registered for task type(s) ${missing.join(', ')}`);
  return { get: (queue) => map.get(queue), close: () => http.close() };
}
