/**
 * From a validated request to the row pg-boss inserts. Task ids are UUIDv7 (time-ordered, so the
 * job index grows at its right edge) — or, with an idempotency key, a UUIDv5 derived from
 * (submitter, queue, key), so a repeat maps to the same row and the database itself refuses the
 * duplicate, even when the two requests land on different API replicas.
 */
import { createHash } from 'node:crypto';
import {
  EXPIRY_MARGIN_SECONDS,
  PRIORITIES,
  type PriorityName,
  type TaskDefinition,
  type TaskEnvelope,
  type TaskMeta,
} from '@taskfleet/core';
import type { JobInsert } from 'pg-boss';
import { v5 as uuidv5 } from 'uuid';
import { uuidv7 } from '@taskfleet/core';
import { type DedupePlacement, placeInWindow, windowStart } from './dedupe.ts';
import type { EnqueueRequest } from './schema.ts';

const IDEMPOTENCY_NAMESPACE = 'a4c7f0f2-6a39-4f3e-9a43-0b9f3f4b5c11';

export interface Principal {
  /** API key id; `null` when authentication is disabled. */
  id: string | null;
  name: string;
  scopes: readonly string[];
  rateLimitPerSecond: number | null;
}

export interface NewTask {
  queue: string;
  id: string;
  row: JobInsert<TaskEnvelope> & { id: string };
  idempotencyKey: string | undefined;
  requestHash: string;
  scheduled: boolean;
  /** Set for a task with a dedup window (dedupe.ts). */
  dedupe?: DedupePlacement;
  /** As submitted (dependencies.ts resolves them): the task waits for these. */
  dependsOn?: string[];
  /** The shard it goes to, once placed (shards/placement.ts; only with more than one shard). */
  shard?: number;
}

/** True when `existing`, found under `task`'s id, was stored for a different request (a reused idempotency key). */
export function reusedKey(existing: { data: { meta?: { requestHash?: string } } | null }, task: NewTask): boolean {
  return existing.data?.meta?.requestHash !== task.requestHash;
}

export function idempotentTaskId(submitter: string | null, queue: string, key: string): string {
  return uuidv5(`${submitter ?? 'anonymous'}\n${queue}\n${key}`, IDEMPOTENCY_NAMESPACE);
}

/** JSON with sorted keys: the same request hashes the same whatever the key order. */
function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function buildTask(input: {
  def: TaskDefinition;
  request: EnqueueRequest;
  payload: unknown;
  principal: Principal;
  requestId: string;
  traceparent: string | undefined;
  /** Idempotency-Key header, used when the body has none. */
  headerKey: string | undefined;
}): NewTask {
  const { def, request, payload, principal } = input;
  const queue = def.name;
  // A dedup window identifies the task itself (the schema refuses an idempotency key beside it).
  const idempotencyKey = request.dedupe ? undefined : (request.idempotencyKey ?? input.headerKey);
  // Only an idempotent request is ever compared with an earlier one.
  const { idempotencyKey: _k, ...hashed } = request;
  const requestHash = idempotencyKey ? createHash('sha256').update(stableStringify(hashed)).digest('base64url').slice(0, 22) : '';
  const id = idempotencyKey ? idempotentTaskId(principal.id, queue, idempotencyKey) : uuidv7();
  const meta: TaskMeta = { submitter: principal.id, requestId: input.requestId };
  if (requestHash) meta.requestHash = requestHash;
  if (input.traceparent) meta.traceparent = input.traceparent;
  if (idempotencyKey) meta.idempotencyKey = idempotencyKey;
  if (request.timeoutSeconds !== undefined) meta.timeoutSeconds = request.timeoutSeconds;
  const priority = PRIORITIES[(request.priority ?? def.defaults.priority) as PriorityName];
  const row: NewTask['row'] = { id, data: { payload, meta }, priority };
  if (request.callback) row.data = { payload, meta, callback: { url: request.callback.url } };
  let scheduled = false;
  if (request.runAt !== undefined) {
    row.startAfter = request.runAt;
    scheduled = Date.parse(request.runAt) > Date.now();
  } else if (request.delaySeconds !== undefined && request.delaySeconds > 0) {
    row.startAfter = request.delaySeconds;
    scheduled = true;
  }
  // The fairness group (queue setting groupConcurrency): as sent, else the submitting key's name.
  const group = request.group ?? (principal.id === null ? undefined : principal.name);
  if (group !== undefined) row.group = { id: group };
  if (request.maxAttempts !== undefined) row.retryLimit = request.maxAttempts - 1;
  if (request.timeoutSeconds !== undefined) row.expireInSeconds = request.timeoutSeconds + EXPIRY_MARGIN_SECONDS;
  const task: NewTask = { queue, id, row, idempotencyKey, requestHash, scheduled };
  if (request.dependsOn) task.dependsOn = request.dependsOn;
  if (request.dedupe)
    placeInWindow(task, { spec: request.dedupe, submitter: principal.id, windowStart: windowStart(request.dedupe.seconds, Date.now()) });
  return task;
}

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;
export function validTraceparent(header: string | undefined): string | undefined {
  return header && TRACEPARENT.test(header.trim()) ? header.trim() : undefined;
}
