/**
 * The unauthenticated operations' declarations for the OpenAPI document. Their handlers are shared
 * with the worker, so they live in packages/core (`healthRoutes`, `metricsRoute`); app.ts mounts them.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { jsonResponse } from '../openapi-schemas.ts';

const NotReadySchema = z
  .object({
    status: z.enum(['draining', 'unavailable']),
    reason: z.string().optional(),
    detail: z.string().optional(),
  })
  .openapi('NotReady');

export const probeOperations = [
  createRoute({
    operationId: 'getHealth',
    method: 'get',
    path: '/healthz',
    tags: ['operations'],
    security: [],
    summary: 'Liveness: the process answers',
    responses: { 200: jsonResponse('Alive', z.object({ status: z.literal('ok') })) },
  }),
  createRoute({
    operationId: 'getReadiness',
    method: 'get',
    path: '/readyz',
    tags: ['operations'],
    security: [],
    summary: 'Readiness: the database answers and this replica is not shutting down',
    description:
      'With several shards only the home shard (the lowest id: API keys live there) is checked. A shard whose database is down makes only the requests that need it answer 503 (naming the shard), so it must not take every replica out of the balancer; `/healthz` is unchanged (the process answers).',
    responses: {
      200: jsonResponse('Ready', z.object({ status: z.literal('ready') })),
      503: jsonResponse('Not ready: draining, or the database is unreachable', NotReadySchema),
    },
  }),
  createRoute({
    operationId: 'getMetrics',
    method: 'get',
    path: '/metrics',
    tags: ['operations'],
    security: [],
    summary: 'Prometheus metrics',
    responses: {
      200: {
        description: 'Prometheus text exposition format',
        content: { 'text/plain': { schema: z.string() } },
      },
    },
  }),
];
