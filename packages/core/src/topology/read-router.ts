/**
 * Where a shard's reads go. Reads that tolerate a little lag (status, listings, queue info, the
 * dashboard) may run on a streaming replica; writes, claims and anything that must see its own
 * write run on the primary. This file holds the contract and the primary-only router (no replicas
 * configured); replicas.ts holds the one that probes replicas and routes around lag and outages.
 */
import type { ExecutePrepared } from '../store/executor.ts';

export interface ReadRouter {
  /** A read that may be served by a replica within the lag bound (else by the primary). */
  execute: ExecutePrepared;
  /**
   * Read-your-writes for a single row: a replica first, the primary when the replica returns no
   * row (a task acknowledged a moment ago that the replica has not replayed yet is never a 404).
   */
  executeFound: ExecutePrepared;
  /** Replicas currently usable (within the lag bound and answering). */
  healthyReplicas(): number;
  close(): Promise<void>;
}

/** No replicas: every read goes to the primary. */
export function primaryReads(primary: ExecutePrepared): ReadRouter {
  return { execute: primary, executeFound: primary, healthyReplicas: () => 0, close: async () => {} };
}
