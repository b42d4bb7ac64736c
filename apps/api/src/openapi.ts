/**
 * The OpenAPI 3.1 document, generated (@hono/zod-openapi, i.e. zod-to-openapi) from the operations
 * each route module declares beside its handlers — request schemas are the zod schemas that
 * validate the requests, answers the schemas of openapi-schemas.ts — and from the task registry:
 * the enqueue operations are listed per task type, with that type's payload schema.
 */
import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import { allTasks } from '@taskfleet/core';
import { ProblemSchema, problemComponents } from './openapi-schemas.ts';
import { enqueueOperations } from './routes/enqueue.ts';
import { fleetOperations } from './routes/fleet.ts';
import { probeOperations } from './routes/probes.ts';
import { queueOperations } from './routes/queues.ts';
import { scheduleOperations } from './routes/schedules.ts';
import { taskOpsOperations } from './routes/task-ops.ts';
import { taskReadOperations } from './routes/tasks.ts';

const TAGS = [
  { name: 'tasks', description: 'Enqueue tasks (per task type), follow them, cancel and retry them' },
  { name: 'dead-letter', description: 'Tasks that failed their last attempt, kept in `<type>.dead` queues' },
  { name: 'queues', description: 'Queue depths by state' },
  { name: 'schedules', description: 'Recurring schedules: one task per cron slot, fleet-wide' },
  { name: 'fleet', description: 'The calling key, the worker replicas, and statistics for dashboards' },
  { name: 'operations', description: 'Probes and metrics, without authentication' },
];

/** Every documented operation: the enqueue operations of each registered task type, then the rest. */
export function openApiOperations(): RouteConfig[] {
  return [
    ...Object.values(allTasks())
      .filter((def) => !def.internal)
      .flatMap((def) => enqueueOperations(def)),
    ...taskReadOperations,
    ...taskOpsOperations,
    ...queueOperations,
    ...scheduleOperations,
    ...fleetOperations,
    ...probeOperations,
  ];
}

/** The document; `serverUrl` (API_PUBLIC_URL or the request's origin) fills `servers`. */
export function buildOpenApi(serverUrl?: string): Record<string, unknown> {
  const generator = new OpenAPIHono();
  const registry = generator.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`npm run apikey -- create`), as `Authorization: Bearer <key>`',
  });
  registry.register('Problem', ProblemSchema);
  for (const [name, response] of problemComponents()) registry.registerComponent('responses', name, response);
  for (const operation of openApiOperations()) registry.registerPath(operation);
  const { webhooks: _none, ...document } = generator.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'taskfleet API',
      version: '1',
      description:
        'Submit tasks over HTTP; they are stored durably in PostgreSQL (pg-boss) and run by the worker fleet. Authenticate with `Authorization: Bearer <api key>`. Errors are application/problem+json (RFC 9457).',
      license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
    },
    ...(serverUrl ? { servers: [{ url: serverUrl.replace(/\/$/, '') }] } : {}),
    security: [{ bearer: [] }],
    tags: TAGS,
  });
  return document;
}
