export { primaryReads, type ReadRouter } from './read-router.ts';
export { rendezvous } from './rendezvous.ts';
export { parseShardMap, type ShardSpec, shardMapEnv } from './shard-map.ts';
export { type Shard, ShardSet } from './shard-set.ts';
export { shardOfId, stampShard } from './task-id.ts';
export { type OpenShards, openShards } from './open.ts';
export { registerTopologyMetrics } from './metrics.ts';
export {
  countedPrimaryReads,
  isObservedReads,
  type ObservedReads,
  openReplicaReads,
  type ReadCounts,
  ReplicaReadRouter,
  type ReplicaReadsOptions,
  type ReplicaStatus,
  replicaName,
} from './replicas.ts';
export { isDatabaseUnavailable } from './unavailable.ts';
