/**
 * Handler contract: `(payload, ctx) => output`, typed from the task definition in packages/core.
 * `ctx.signal` aborts at the attempt's deadline and on shutdown; handlers pass it to I/O.
 */
import type { Config, DependencyOutput, Logger, PayloadOf, ProgressValue, TaskDefinition } from '@taskfleet/core';

export interface TaskContext {
  queue: string;
  jobId: string;
  /** 1 for the first run. */
  attempt: number;
  maxAttempts: number;
  /** When the attempt's signal aborts. */
  deadline: Date;
  signal: AbortSignal;
  /** Child logger carrying queue, job id, attempt and trace id. */
  logger: Logger;
  traceparent: string | undefined;
  config: Config;
  /**
   * Report how far the task got: a number from 0 to 100 or a plain JSON object (≤ 2 KB as JSON);
   * the status endpoint shows the last value. Throws InvalidProgressError for anything else. Cheap
   * to call often: writes are coalesced to at most one per second, the last value always written.
   */
  progress(value: ProgressValue): void;
  /**
   * The tasks this one depends on (enqueue `dependsOn`), each with its queue, id, state and output
   * (all `completed`: a task runs only once its dependencies have). One query per call; [] for a
   * task without dependencies.
   */
  dependencies(): Promise<DependencyOutput[]>;
}

export type Handler<D extends TaskDefinition> = (payload: PayloadOf<D>, ctx: TaskContext) => Promise<unknown>;

export interface HandlerEntry {
  definition: TaskDefinition;
  handle: (payload: unknown, ctx: TaskContext) => Promise<unknown>;
}

/** Bind a handler to its task definition (the payload type follows from the definition). */
export function defineHandler<D extends TaskDefinition>(definition: D, handle: Handler<D>): HandlerEntry {
  return { definition, handle: handle as HandlerEntry['handle'] };
}
