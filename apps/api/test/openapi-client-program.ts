/**
 * The program openapi-contract.test.ts compiles against the types openapi-typescript generates from
 * the live document (written beside it as schema.ts), then runs against the API. A string, because
 * it only type-checks next to that generated file. Each `@ts-expect-error` line is something the API
 * refuses: tsc fails if the generated types would let it through.
 */
export const TYPED_CLIENT = `
import type { components, paths } from './schema.ts';

type EnqueueNoop = paths['/v1/queues/noop/tasks']['post'];
type EnqueueBody = EnqueueNoop['requestBody']['content']['application/json'];
type Receipt = EnqueueNoop['responses'][202]['content']['application/json'];
type GetTask = paths['/v1/queues/{queue}/tasks/{id}']['get'];
type Task = GetTask['responses'][200]['content']['application/json'];
type Problem = components['schemas']['Problem'];

async function call<T>(base: string, key: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: 'Bearer ' + key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) {
    const problem = (await res.json()) as Problem;
    throw new Error(problem.status + ' ' + problem.title + ': ' + (problem.detail ?? ''));
  }
  return (await res.json()) as T;
}

export const enqueueNoop = (base: string, key: string, body: EnqueueBody) => call<Receipt>(base, key, 'POST', '/v1/queues/noop/tasks', body);

export const getTask = (base: string, key: string, { queue, id }: GetTask['parameters']['path']) =>
  call<Task>(base, key, 'GET', '/v1/queues/' + encodeURIComponent(queue) + '/tasks/' + id);

export async function main(base: string, key: string): Promise<{ receipt: Receipt; task: Task }> {
  const receipt = await enqueueNoop(base, key, { payload: { echo: { n: [1, 'two', null] } }, priority: 'high', delaySeconds: 600 });
  const scheduled: 'queued' | 'scheduled' | 'waiting' | 'cancelled' = receipt.state;
  const task = await getTask(base, key, { queue: receipt.queue, id: receipt.id });
  const when: string | null = task.startedAt;
  return { receipt: { ...receipt, state: scheduled }, task: { ...task, startedAt: when } };
}

// @ts-expect-error priority is critical, high, normal or low
export const badPriority: EnqueueBody = { payload: {}, priority: 'urgent' };
// @ts-expect-error a noop payload has no url
export const badPayload: EnqueueBody = { payload: { url: 'https://example.com' } };
// @ts-expect-error the payload is required
export const noPayload: EnqueueBody = { priority: 'low' };
// @ts-expect-error delaySeconds is a number
export const badDelay: EnqueueBody = { payload: {}, delaySeconds: '60' };
export const neverState = (task: Task) =>
  // @ts-expect-error a task's state is one of the documented states
  task.state === 'done';
`;
