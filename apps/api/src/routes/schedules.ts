/**
 * Recurring schedules: `PUT /v1/schedules/{name}` creates (201) or replaces (200) one, `GET` reads one
 * or lists them, `DELETE` removes one (204). Every API and worker replica fires them (core
 * schedules/scheduler.ts). Scopes follow the tasks': setting or deleting one needs `submit` (only
 * `admin` may change another key's schedule); `read` sees every schedule, a submit-only key its own.
 *
 * With several shards a schedule lives on the shard its name hashes to (`shards.forKey(name)`), and
 * its tasks are inserted there by that shard's scheduler. A schedule not found there is looked for
 * on the others (one written before the shard map changed stays where it is), so a PUT replaces it
 * in place instead of creating a second one. The listing reads every shard.
 */
import { createRoute } from '@hono/zod-openapi';
import {
  databaseNow,
  deleteSchedule,
  getSchedule,
  listSchedules,
  type Logger,
  nextSlotAfter,
  type Config,
  type ScheduleRow,
  type Shard,
  upsertSchedule,
} from '@taskfleet/core';
import { type Context, Hono } from 'hono';
import { readJsonBody } from '../body.ts';
import type { AppEnv } from '../env.ts';
import { canModify, canSee, hasScope, principalOf, requireScope } from '../middleware/auth.ts';
import { jsonResponse, problemResponses } from '../openapi-schemas.ts';
import { problems } from '../problem.ts';
import { fanOut, markMissing, missingShardsHeaders } from '../shards/fan-out.ts';
import type { Lanes } from '../shards/lanes.ts';
import { locate } from '../shards/locate.ts';
import {
  SCHEDULE_NAME,
  ScheduleListSchema,
  ScheduleParams,
  ScheduleSchema,
  scheduleRequestSchema,
  toScheduleView,
  validateSchedule,
} from '../schedules/schema.ts';
import { baseUrl } from './base-url.ts';

export interface ScheduleRouteDeps {
  config: Config;
  lanes: Lanes;
  logger: Logger;
}

/** The operations below, for the OpenAPI document. */
export const scheduleOperations = [
  createRoute({
    operationId: 'setSchedule',
    method: 'put',
    path: '/v1/schedules/{name}',
    tags: ['schedules'],
    summary: 'Create or replace a recurring schedule',
    description:
      "One task per slot of the cron expression, fleet-wide, whatever the number of API and worker replicas; none lost across restarts. After an outage of every replica only the latest missed slot runs. Replacing a schedule with the same cron and time zone keeps its next slot. `submit` scope; only `admin` may replace another key's schedule.",
    request: {
      params: ScheduleParams,
      body: { required: true, content: { 'application/json': { schema: scheduleRequestSchema.openapi('ScheduleRequest') } } },
    },
    responses: {
      201: jsonResponse('Created', ScheduleSchema),
      200: jsonResponse('Replaced', ScheduleSchema),
      ...problemResponses(400, 401, 403, 413, 415, 422, 429, 503),
    },
  }),
  createRoute({
    operationId: 'listSchedules',
    method: 'get',
    path: '/v1/schedules',
    tags: ['schedules'],
    summary: 'Recurring schedules by name',
    description:
      'With the `read` scope every schedule; otherwise those set by the calling key. With several shards, from every shard (`X-Missing-Shards` names those that did not answer).',
    responses: {
      200: { ...jsonResponse('The schedules', ScheduleListSchema), headers: missingShardsHeaders },
      ...problemResponses(401, 429, 503),
    },
  }),
  createRoute({
    operationId: 'getSchedule',
    method: 'get',
    path: '/v1/schedules/{name}',
    tags: ['schedules'],
    summary: 'One recurring schedule',
    request: { params: ScheduleParams },
    responses: { 200: jsonResponse('The schedule', ScheduleSchema), ...problemResponses(401, 404, 429, 503) },
  }),
  createRoute({
    operationId: 'deleteSchedule',
    method: 'delete',
    path: '/v1/schedules/{name}',
    tags: ['schedules'],
    summary: 'Delete a recurring schedule',
    description: 'No task is inserted for its slots from then on; tasks already inserted stay.',
    request: { params: ScheduleParams },
    responses: { 204: { description: 'Deleted' }, ...problemResponses(401, 403, 404, 429, 503) },
  }),
];

const NOT_FOUND = 'No schedule has this name (or it is not visible to this API key).';

function nameOf(c: Context<AppEnv>): string {
  const name = c.req.param('name') ?? '';
  if (!SCHEDULE_NAME.test(name)) {
    throw problems.validation([{ field: 'name', message: 'must be 1–128 letters, digits, . _ - (starting with a letter or digit)' }]);
  }
  return name;
}

/** The schedule named `name` and its shard (the shard its name hashes to when there is none yet). */
async function find(lanes: Lanes, name: string): Promise<{ shard: Shard; schedule: ScheduleRow | undefined }> {
  const named = lanes.sharded ? lanes.of(lanes.shards.forKey(name)) : lanes.home;
  const { lane, value } = await locate(lanes, named, ({ shard }) => getSchedule(shard.executeSql, name));
  return { shard: lane.shard, schedule: value };
}

export function scheduleRoutes(deps: ScheduleRouteDeps): Hono<AppEnv> {
  const { lanes, logger } = deps;
  const app = new Hono<AppEnv>();

  app.put('/v1/schedules/:name', async (c) => {
    const principal = requireScope(c, 'submit');
    const name = nameOf(c);
    const validated = validateSchedule(await readJsonBody(c, deps.config.api.bodyLimitBytes));
    if (!validated.ok) throw problems.validation(validated.errors);
    const { shard, schedule: existing } = await find(lanes, name);
    if (existing && !canModify(principal, existing.submitter)) throw problems.forbidden('This schedule was set by another API key.');
    const { queue, cron, timezone, payload, options } = validated.value;
    // The fairness group, as on enqueue: as sent, else the setting key's name.
    if (options.group === undefined && principal.id !== null) options.group = principal.name;
    const { executeSql } = shard;
    let stored: Awaited<ReturnType<typeof upsertSchedule>>;
    try {
      const nextRunAt = nextSlotAfter(cron, timezone, await databaseNow(executeSql));
      stored = await upsertSchedule(executeSql, { name, queue, cron, timezone, payload, options, submitter: principal.id, nextRunAt });
    } catch (err) {
      throw lanes.failure(shard, err);
    }
    const { created, schedule } = stored;
    const at = lanes.sharded ? { shard: shard.id } : {};
    logger.info({ schedule: name, queue, cron, timezone, nextRunAt: schedule.nextRunAt, created, ...at }, 'schedule set');
    const headers = created ? { location: `${baseUrl(c, deps.config)}/v1/schedules/${encodeURIComponent(name)}` } : undefined;
    return c.json(toScheduleView(schedule), created ? 201 : 200, headers);
  });

  app.get('/v1/schedules', async (c) => {
    const principal = principalOf(c);
    const filter = hasScope(principal, 'read') ? {} : { submitter: principal.id };
    const { values, missing } = await fanOut(lanes.shards.all, (shard) => listSchedules(shard.reads.execute, filter));
    markMissing(c, missing);
    const rows = values.length === 1 ? (values[0] as ScheduleRow[]) : values.flat().sort((a, b) => (a.name < b.name ? -1 : 1));
    return c.json({ schedules: rows.map(toScheduleView) });
  });

  app.get('/v1/schedules/:name', async (c) => {
    const { schedule } = await find(lanes, nameOf(c));
    if (!schedule || !canSee(principalOf(c), schedule.submitter)) throw problems.notFound(NOT_FOUND);
    return c.json(toScheduleView(schedule));
  });

  app.delete('/v1/schedules/:name', async (c) => {
    const principal = requireScope(c, 'submit');
    const name = nameOf(c);
    const { shard, schedule } = await find(lanes, name);
    if (!schedule || !canSee(principal, schedule.submitter)) throw problems.notFound(NOT_FOUND);
    if (!canModify(principal, schedule.submitter)) throw problems.forbidden('This schedule was set by another API key.');
    const deleted = await deleteSchedule(shard.executeSql, name).catch((err: unknown) => Promise.reject(lanes.failure(shard, err)));
    if (!deleted) throw problems.notFound(NOT_FOUND);
    logger.info({ schedule: name, queue: schedule.queue, ...(lanes.sharded ? { shard: shard.id } : {}) }, 'schedule deleted');
    return c.body(null, 204);
  });
  return app;
}
