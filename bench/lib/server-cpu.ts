/**
 * CPU of one PostgreSQL server, not of every postgres process on the machine: its postmaster and the
 * postmaster's children (backends, walsenders, autovacuum, checkpointer …), read from /proc. Needed
 * where several servers run at once (a primary and its replica; other clusters on a shared machine).
 * A backend that exits between two readings takes its CPU with it: keep the connections whose cost
 * is measured open across the window. Falls back to every postgres process when the server is not
 * local (its processes are not in /proc).
 */
import { readdir, readFile } from 'node:fs/promises';
import { postgresCpuSeconds } from './env.ts';
import { withClient } from './jobs.ts';

async function stat(pid: number | string): Promise<{ ppid: number; cpuSeconds: number } | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // after the name: state, ppid, …; utime and stime are fields 14 and 15 of stat (USER_HZ = 100)
  return { ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
}

/** The server's postmaster pid: the parent of a backend of ours, when that backend is on this machine. */
export async function postmasterPid(url: string): Promise<number | undefined> {
  // Read while connected: the backend exits with its connection.
  return withClient(url, async (c) => {
    const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    return pid === undefined ? undefined : (await stat(pid))?.ppid;
  });
}

/** A CPU-seconds reader for the server `url` names (resolved once). */
export async function serverCpu(url: string): Promise<() => Promise<number>> {
  const postmaster = await postmasterPid(url);
  if (postmaster === undefined) return postgresCpuSeconds;
  return async () => {
    let seconds = (await stat(postmaster))?.cpuSeconds ?? 0;
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const s = await stat(pid);
      if (s?.ppid === postmaster) seconds += s.cpuSeconds;
    }
    return seconds;
  };
}
