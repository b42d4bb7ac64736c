/**
 * The topology's metrics, read from the shards' read routers at scrape time: each replica's lag
 * and whether it answers, and where reads went. A replica that does not answer has no lag series
 * (its `up` is 0); `shard` is the shard id, `replica` its `host:port` (never credentials).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { METRICS } from '../metrics.ts';
import { isObservedReads, type ObservedReads } from './replicas.ts';
import type { ShardSet } from './shard-set.ts';

export function registerTopologyMetrics(registry: Registry, shards: ShardSet): void {
  const routers = (): ObservedReads[] => shards.all.flatMap((s) => (isObservedReads(s.reads) ? [s.reads] : []));
  new Gauge({
    name: METRICS.replicaLag,
    help: "Seconds a read replica's replay is behind its primary, as last probed (absent while it does not answer)",
    labelNames: ['shard', 'replica'],
    registers: [registry],
    collect() {
      this.reset();
      for (const router of routers())
        for (const r of router.replicas())
          if (r.lagSeconds !== null) this.set({ shard: String(router.shardId), replica: r.name }, r.lagSeconds);
    },
  });
  new Gauge({
    name: METRICS.replicaUp,
    help: 'Whether a read replica answered the last probe as a standby (1) or not (0)',
    labelNames: ['shard', 'replica'],
    registers: [registry],
    collect() {
      this.reset();
      for (const router of routers())
        for (const r of router.replicas()) this.set({ shard: String(router.shardId), replica: r.name }, r.up ? 1 : 0);
    },
  });
  new Counter({
    name: METRICS.dbReads,
    help: 'Reads that may go to a replica, by where they were answered (replica, or primary: none healthy, a replica error, or read-your-writes)',
    labelNames: ['shard', 'target'],
    registers: [registry],
    collect() {
      this.reset();
      for (const router of routers()) {
        const counts = router.readCounts();
        this.inc({ shard: String(router.shardId), target: 'replica' }, counts.replica);
        this.inc({ shard: String(router.shardId), target: 'primary' }, counts.primary);
      }
    },
  });
}
