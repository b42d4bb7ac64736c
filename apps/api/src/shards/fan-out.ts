/**
 * Reads that need every shard (listings, queue depths, statistics, workers, schedules): one read per
 * shard, all at once. A shard whose database cannot be reached is left out and named in the answer's
 * `X-Missing-Shards` header (comma-separated ids): the answer is partial, not an error. Only when no
 * shard answers is the request a 503. Any other failure fails the request as before.
 */
import { z } from '@hono/zod-openapi';
import type { Shard } from '@taskfleet/core';
import type { Context } from 'hono';
import { isShardUnreachable, problems } from '../problem.ts';

/** The header naming the shards a fan-out answer is missing. */
export const MISSING_SHARDS_HEADER = 'X-Missing-Shards';

/** The header on the OpenAPI answers of fan-out reads. */
export const missingShardsHeaders = z.object({
  [MISSING_SHARDS_HEADER]: z.string().optional().openapi({
    description:
      "Only with several shards, when some shards' databases did not answer: their ids, comma-separated. The answer holds what the other shards hold (counts and lists are partial); absent when every shard answered.",
    example: '1',
  }),
});

export interface FanOut<T> {
  /** Each answering shard's value, in shard id order. */
  values: T[];
  /** Ids of the shards that did not answer (their database is unavailable). */
  missing: number[];
}

export async function fanOut<T>(shards: readonly Shard[], read: (shard: Shard) => Promise<T>): Promise<FanOut<T>> {
  if (shards.length === 1) return { values: [await read(shards[0] as Shard)], missing: [] };
  const settled = await Promise.allSettled(shards.map(read));
  const values: T[] = [];
  const missing: number[] = [];
  let firstDown: unknown;
  settled.forEach((s, i) => {
    if (s.status === 'fulfilled') values.push(s.value);
    else if (isShardUnreachable(s.reason)) {
      missing.push((shards[i] as Shard).id);
      firstDown ??= s.reason;
    } else throw s.reason;
  });
  if (values.length === 0) throw problems.shardUnavailable(missing[0] as number, firstDown);
  return { values, missing };
}

/** Name the missing shards on the answer (nothing when every shard answered). */
export function markMissing(c: Context, missing: readonly number[]): void {
  if (missing.length > 0) c.header(MISSING_SHARDS_HEADER, missing.join(','));
}
