/**
 * A task id names its shard: byte 9 of the UUID (the second byte after the variant bits, random in
 * both UUIDv7 and UUIDv5) holds the shard id, so a status read goes straight to one shard, no
 * fan-out. Only written when the map has more than one shard: a one-shard fleet's ids (and the
 * idempotency ids derived from keys) stay exactly what they were before shards existed.
 */

/** Byte 9 is characters 21–22 of the canonical 8-4-4-4-12 form. */
const AT = 21;

export function stampShard(id: string, shard: number): string {
  const hex = shard.toString(16).padStart(2, '0');
  return id.slice(0, AT) + hex + id.slice(AT + 2);
}

/** The shard id an id carries (meaningful only for ids created under a multi-shard map). */
export function shardOfId(id: string): number {
  return Number.parseInt(id.slice(AT, AT + 2), 16);
}
