/** What every peer's drain shares: its result shape and the count of its completions with a stall watchdog. */

export interface PeerDrainResult {
  peer: string;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  postgresCpuSeconds?: number;
  settings: Record<string, unknown>;
  skipped?: string;
}

/** Jobs per fill call (addJobs / addBulk). */
export const FILL_BATCH = 5000;
/** A drain that completes no job for this long has failed (BullMQ recovers a stalled job within ~60 s). */
const STALL_MS = 90_000;

export interface CompletionWatch {
  /** Resolves once `jobs` completions were counted; rejects on `fail` or a stall. */
  readonly done: Promise<void>;
  /** Count one completion (the peer's own completion event). */
  completed(): void;
  fail(err: Error): void;
  /** The drain starts: from now on a stall fails it. */
  start(): void;
  /** Stop watching (always, in a `finally`). */
  stop(): void;
}

export function watchCompletions(label: string, jobs: number): CompletionWatch {
  let count = 0;
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  let resolve: () => void = () => {};
  let reject: (err: Error) => void = () => {};
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {
    done,
    completed() {
      last = performance.now();
      if (++count === jobs) resolve();
    },
    fail: (err) => reject(err),
    start() {
      last = performance.now();
      timer = setInterval(() => {
        if (performance.now() - last > STALL_MS)
          reject(new Error(`${label}: no job completed for ${STALL_MS / 1000} s (${count}/${jobs} done)`));
      }, 1000);
    },
    stop: () => clearInterval(timer),
  };
}
