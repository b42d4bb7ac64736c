/**
 * Several embedded PostgreSQL servers on one machine: `shards` primaries, each with
 * `replicasPerShard` real streaming replicas (made by embedded-replica.ts). `npm start` runs it
 * with EMBEDDED_PG_SHARDS / EMBEDDED_PG_READ_REPLICAS; tests start their own in a temp dir.
 *
 * Layout: shard 0's data directory is `baseDir` itself (the single-server layout of earlier
 * releases), shard i's is `<baseDir>-s<i>`, replica k (1-based) of shard i is `<baseDir>-s<i>-r<k>`.
 * Primaries listen on basePort … basePort+shards-1, the replicas after them, shard by shard.
 * On a later start every data directory is reused; a replica's is reused when it still is a standby
 * of its primary (same system identifier, slot present), else made again from a new base backup.
 */
import { shardMapEnv, type ShardSpec } from '@taskfleet/core';
import { identify, looksLikeStandby, makeStandby, pruneSlots, slotName } from './embedded-replica.ts';
import { type EmbeddedPostgres, freePort, runningPostmaster, startEmbeddedPostgres, stopStalePostmaster } from './embedded-postgres.ts';

export interface ServerPlace {
  /** `s0`, `s0-r1`, … (log prefix, replication application_name). */
  name: string;
  dataDir: string;
  port: number;
}

export interface ShardPlace extends ServerPlace {
  id: number;
  replicas: (ServerPlace & { slot: string })[];
}

/** Where each server of a topology lives (no server started). */
export function topologyLayout(baseDir: string, basePort: number, shards: number, replicasPerShard: number): ShardPlace[] {
  return Array.from({ length: shards }, (_, id) => ({
    id,
    name: `s${id}`,
    dataDir: id === 0 ? baseDir : `${baseDir}-s${id}`,
    port: basePort + id,
    replicas: Array.from({ length: replicasPerShard }, (_, i) => ({
      name: `s${id}-r${i + 1}`,
      dataDir: `${baseDir}-s${id}-r${i + 1}`,
      port: basePort + shards + id * replicasPerShard + i,
      slot: slotName(id, i + 1),
    })),
  }));
}

/** `count` consecutive free ports on 127.0.0.1 (the first of them), for a topology in tests. */
export async function freePortRange(count: number): Promise<number> {
  const { createServer } = await import('node:net');
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await freePort();
    if (first + count > 65535) continue;
    let ok = true;
    for (let p = first + 1; ok && p < first + count; p++) ok = await free(p);
    if (ok) return first;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

export interface EmbeddedTopologyOptions {
  /** Shard 0's data directory; the others are named after it (see the file comment). */
  baseDir: string;
  /** Shard 0's port. */
  basePort: number;
  shards: number;
  replicasPerShard: number;
  /** false: primaries only (migrations, admin commands); the replicas' slots are kept. @defaultValue true */
  startReplicas?: boolean;
  /** `-c` settings for every server (a replica needs max_connections ≥ its primary's: keep them equal). */
  settings?: Record<string, string | number>;
  /** Each server's log lines, with its name. */
  onLog?: (line: string, server: string) => void;
  /** Each server once started: created (initdb), reused (existing data), or backed-up (a new replica). */
  onStarted?: (server: ServerPlace, how: 'created' | 'reused' | 'backed-up', ms: number) => void;
}

export interface EmbeddedShard {
  id: number;
  primary: EmbeddedPostgres;
  replicas: EmbeddedPostgres[];
}

export interface EmbeddedTopology {
  readonly shards: EmbeddedShard[];
  /** The shard map: each primary's URL with its replicas' URLs as readUrls. */
  readonly specs: ShardSpec[];
  /** DATABASE_URL / DATABASE_SHARDS / DATABASE_READ_URLS for child processes (`shardMapEnv`). */
  env(): Record<string, string>;
  /**
   * Start a server of this topology again on its data directory and port (fast shutdown first if
   * it still runs; a test may also stop it with `server.stop()` and call this later). Returns the
   * new handle, which also replaces the old one in `shards`.
   */
  restart(server: EmbeddedPostgres): Promise<EmbeddedPostgres>;
  /** Resolves when a primary exits other than through `stop()` or `restart()`. */
  readonly exited: Promise<{ shard: number; code: number | null }>;
  /** Replicas first, then primaries; resolves once every server has exited. */
  stop(): Promise<void>;
}

/** A server that never says it is ready (a standby waiting for WAL that is gone) is stopped after `ms`. */
async function startWithin(options: Parameters<typeof startEmbeddedPostgres>[0], ms: number): Promise<EmbeddedPostgres> {
  const starting = startEmbeddedPostgres(options);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`PostgreSQL on ${options.dataDir} was not ready within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([starting, timedOut]);
  } catch (err) {
    starting.catch(() => undefined);
    if (await runningPostmaster(options.dataDir)) await stopStalePostmaster(options.dataDir);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

type Start = (place: ServerPlace, timeoutMs?: number) => Promise<EmbeddedPostgres>;

/** A replica of `primary`: its existing data when still a standby of it, else a new base backup. */
async function startReplica(
  primary: EmbeddedPostgres,
  place: ServerPlace & { slot: string },
  slots: Set<string>,
  start: Start,
): Promise<{ server: EmbeddedPostgres; how: 'reused' | 'backed-up' }> {
  if (!primary.created && slots.has(place.slot) && (await looksLikeStandby(place.dataDir, primary.port, place.slot))) {
    try {
      const server = await start(place, 30_000);
      const [p, s] = await Promise.all([identify(primary.url), identify(server.url)]);
      if (s.inRecovery && s.systemId === p.systemId) return { server, how: 'reused' };
      await server.stop();
    } catch {
      // not a usable standby any more: made again below
    }
  }
  await stopStalePostmaster(place.dataDir);
  await makeStandby({
    primaryUrl: primary.url,
    primaryDataDir: primary.dataDir,
    primaryPort: primary.port,
    dataDir: place.dataDir,
    slot: place.slot,
    name: place.name,
  });
  return { server: await start(place, 120_000), how: 'backed-up' };
}

export async function startEmbeddedTopology(options: EmbeddedTopologyOptions): Promise<EmbeddedTopology> {
  const layout = topologyLayout(options.baseDir, options.basePort, options.shards, options.replicasPerShard);
  const places = new Map<EmbeddedPostgres, ServerPlace>();
  const all = (): EmbeddedPostgres[] => [...places.keys()];
  const start: Start = async (place, timeoutMs = 120_000) => {
    const server = await startWithin(
      {
        dataDir: place.dataDir,
        port: place.port,
        ...(options.settings ? { settings: options.settings } : {}),
        ...(options.onLog ? { onLog: (line: string) => options.onLog?.(line, place.name) } : {}),
      },
      timeoutMs,
    );
    places.set(server, place);
    return server;
  };
  const timed = async <T extends { server: EmbeddedPostgres }>(
    place: ServerPlace,
    make: () => Promise<T & { how: 'reused' | 'backed-up' | 'created' }>,
  ) => {
    const began = performance.now();
    const made = await make();
    options.onStarted?.(place, made.how, Math.round(performance.now() - began));
    return made.server;
  };
  const stopAll = async () => {
    const servers = all();
    const replicas = servers.filter((s) => places.get(s)?.name.includes('-r'));
    await Promise.all(replicas.map((s) => s.stop()));
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    const primaries = await Promise.all(
      layout.map((place) =>
        timed(place, async () => {
          const server = await start(place);
          return { server, how: server.created ? ('created' as const) : ('reused' as const) };
        }),
      ),
    );
    const shards: EmbeddedShard[] = await Promise.all(
      layout.map(async (place, i) => {
        const primary = primaries[i] as EmbeddedPostgres;
        const slots = await pruneSlots(primary.url, place.id, options.replicasPerShard);
        const replicas: EmbeddedPostgres[] = [];
        if (options.startReplicas !== false)
          for (const r of place.replicas) replicas.push(await timed(r, () => startReplica(primary, r, slots, start)));
        return { id: place.id, primary, replicas };
      }),
    );
    return assemble(shards, places, start, stopAll);
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}

/** The topology handle over started servers. */
function assemble(
  shards: EmbeddedShard[],
  places: Map<EmbeddedPostgres, ServerPlace>,
  start: Start,
  stopAll: () => Promise<void>,
): EmbeddedTopology {
  const expected = new WeakSet<EmbeddedPostgres>();
  let report: (value: { shard: number; code: number | null }) => void = () => {};
  const exited = new Promise<{ shard: number; code: number | null }>((resolve) => {
    report = resolve;
  });
  const watch = (shard: EmbeddedShard) => {
    const primary = shard.primary;
    void primary.exited.then((code) => {
      if (!expected.has(primary)) report({ shard: shard.id, code });
    });
  };
  for (const shard of shards) watch(shard);
  const specs = (): ShardSpec[] => shards.map((s) => ({ id: s.id, url: s.primary.url, readUrls: s.replicas.map((r) => r.url) }));
  let stopping: Promise<void> | undefined;
  return {
    shards,
    get specs() {
      return specs();
    },
    env: () => shardMapEnv(specs()),
    exited,
    async restart(server) {
      const place = places.get(server);
      const shard = shards.find((s) => s.primary === server || s.replicas.includes(server));
      if (!place || !shard) throw new Error('restart: not a server of this topology');
      expected.add(server);
      await server.stop();
      places.delete(server);
      const again = await start(place);
      if (shard.primary === server) {
        shard.primary = again;
        watch(shard);
      } else shard.replicas[shard.replicas.indexOf(server)] = again;
      return again;
    },
    stop() {
      for (const s of places.keys()) expected.add(s);
      stopping ??= stopAll();
      return stopping;
    },
  };
}
