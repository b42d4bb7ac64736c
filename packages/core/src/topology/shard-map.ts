/**
 * The shard map: which PostgreSQL primaries hold task data, and which streaming replicas serve
 * each one's reads. Read from DATABASE_SHARDS / DATABASE_READ_URLS (or DATABASE_URL alone: one
 * shard, id 0). Shard ids are stable small integers (0–255): a task id carries its shard's id
 * (task-id.ts) and rendezvous hashing scores ids, so renumbering a shard moves its keys.
 */

export interface ShardSpec {
  /** Stable id, 0–255, written into every task id created on this shard. */
  id: number;
  /** The primary: writes, claims, anything that must see its own write. */
  url: string;
  /** Streaming replicas of this primary, for reads that tolerate lag (may be empty). */
  readUrls: string[];
}

const ENTRY = /^(\d{1,3})=(.+)$/;

function isPostgresUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'postgres:' || u.protocol === 'postgresql:';
  } catch {
    return false;
  }
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `id=url` entries (ids 0–255); problems name the variable and the entry. */
function parseEntries(name: string, value: string, allowBare: boolean): { entries: [number | null, string][]; problems: string[] } {
  const entries: [number | null, string][] = [];
  const problems: string[] = [];
  for (const item of splitList(value)) {
    const m = ENTRY.exec(item);
    const id = m ? Number(m[1]) : null;
    const url = m ? (m[2] as string) : item;
    if (m && (id as number) > 255) problems.push(`${name}: shard id ${id} in "${item}" is out of range: expected 0–255`);
    else if (!m && !allowBare) problems.push(`${name}: "${item}" is not of the form id=postgres://…`);
    else if (!isPostgresUrl(url)) problems.push(`${name}: "${url}" is not a postgres:// URL`);
    else entries.push([id, url]);
  }
  return { entries, problems };
}

/**
 * The shard map from the environment's three variables. `DATABASE_SHARDS` ("0=postgres://a,1=postgres://b")
 * wins; else DATABASE_URL is shard 0. `DATABASE_READ_URLS` lists replicas as "id=url" (or bare URLs
 * when there is one shard). Returns problems instead of throwing, like the config parser.
 */
export function parseShardMap(vars: {
  DATABASE_URL?: string | undefined;
  DATABASE_SHARDS?: string | undefined;
  DATABASE_READ_URLS?: string | undefined;
}): { shards: ShardSpec[]; problems: string[] } {
  const problems: string[] = [];
  const shards: ShardSpec[] = [];
  if (vars.DATABASE_SHARDS) {
    const parsed = parseEntries('DATABASE_SHARDS', vars.DATABASE_SHARDS, false);
    problems.push(...parsed.problems);
    for (const [id, url] of parsed.entries) {
      if (shards.some((s) => s.id === id)) problems.push(`DATABASE_SHARDS: shard id ${id} appears twice`);
      else shards.push({ id: id as number, url, readUrls: [] });
    }
    shards.sort((a, b) => a.id - b.id);
  } else if (vars.DATABASE_URL) {
    shards.push({ id: 0, url: vars.DATABASE_URL, readUrls: [] });
  }
  if (vars.DATABASE_READ_URLS) {
    const bareAllowed = !vars.DATABASE_SHARDS || splitList(vars.DATABASE_SHARDS).length <= 1;
    const parsed = parseEntries('DATABASE_READ_URLS', vars.DATABASE_READ_URLS, bareAllowed);
    problems.push(...parsed.problems);
    for (const [id, url] of parsed.entries) {
      const shard = id === null ? shards[0] : shards.find((s) => s.id === id);
      if (!shard) problems.push(`DATABASE_READ_URLS: "${url}" names shard ${id ?? 0}, which DATABASE_SHARDS/DATABASE_URL does not define`);
      else shard.readUrls.push(url);
    }
  }
  return { shards, problems };
}

/** The inverse: the variables a child process needs for this map (the supervisor passes them on). */
export function shardMapEnv(shards: ShardSpec[]): Record<string, string> {
  const env: Record<string, string> = {};
  if (shards.length === 0) return env;
  env.DATABASE_URL = (shards[0] as ShardSpec).url;
  if (shards.length > 1 || (shards[0] as ShardSpec).id !== 0) env.DATABASE_SHARDS = shards.map((s) => `${s.id}=${s.url}`).join(',');
  const reads = shards.flatMap((s) => s.readUrls.map((u) => `${s.id}=${u}`));
  if (reads.length) env.DATABASE_READ_URLS = reads.join(',');
  return env;
}
