/**
 * Rendezvous (highest-random-weight) hashing: a key goes to the shard whose (key, shard id) score
 * is highest. Adding a shard moves only the keys the new shard now wins (~1/N of them); removing
 * one moves only its own keys. No ring, no virtual nodes, nothing to store.
 */

/** FNV-1a over the key's UTF-16 code units, 32 bits. */
function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finalizer: spreads every input bit over the output. */
function mix(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The winning shard id for `key` among `ids` (non-empty). Deterministic for a given id set. */
export function rendezvous(key: string, ids: readonly number[]): number {
  const h = fnv1a(key);
  let best = ids[0] as number;
  let bestScore = -1;
  for (const id of ids) {
    const score = mix(h ^ mix(id + 0x9e3779b9));
    if (score > bestScore || (score === bestScore && id < best)) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}
