/**
 * Streaming replication: the statements a read router's probe runs to measure how far a replica's
 * replay is behind its primary (topology/replicas.ts decides what that means for routing).
 */
import type { ExecuteSql } from './executor.ts';

/** The primary's current WAL write position (text form `X/Y`). */
export async function primaryWalPosition(executeSql: ExecuteSql): Promise<string> {
  const { rows } = await executeSql('SELECT pg_current_wal_lsn()::text AS lsn');
  return rows[0].lsn as string;
}

export interface ReplayStatus {
  /** false: the server is not (or no longer) a standby — a promoted replica, or a primary by mistake. */
  inRecovery: boolean;
  /** The last WAL position replayed (`X/Y`); null when not in recovery. */
  replayLsn: string | null;
  /** Seconds since the last replayed transaction committed on the primary (null: none replayed yet). */
  replayAgeSeconds: number | null;
}

/** Where a standby's replay stands. */
export async function replicaReplayStatus(executeSql: ExecuteSql): Promise<ReplayStatus> {
  const { rows } = await executeSql(
    `SELECT pg_is_in_recovery() AS in_recovery,
            pg_last_wal_replay_lsn()::text AS replay_lsn,
            extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS replay_age`,
  );
  const row = rows[0] as { in_recovery: boolean; replay_lsn: string | null; replay_age: number | null };
  return { inRecovery: row.in_recovery, replayLsn: row.replay_lsn, replayAgeSeconds: row.replay_age };
}

/** `X/Y` as one number, for comparing positions (null for a missing position). */
export function lsnValue(lsn: string | null): bigint | null {
  if (!lsn) return null;
  const [hi, lo] = lsn.split('/');
  if (hi === undefined || lo === undefined) return null;
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}
