/**
 * What the worker reports about itself. Metrics and logs subscribe to these events; they never
 * live inside the fetch loop or the handlers.
 */
import { EventEmitter } from 'node:events';

export interface WorkerEventMap {
  'job:start': [{ queue: string; id: string; priority: number; attempt: number; waitSeconds: number }];
  'job:complete': [{ queue: string; id: string; priority: number; attempt: number; seconds: number }];
  'job:fail': [
    {
      queue: string;
      id: string;
      priority: number;
      attempt: number;
      seconds: number;
      error: Error;
      willRetry: boolean;
      deadLettered: boolean;
      kind: 'error' | 'permanent' | 'timeout' | 'shutdown';
    },
  ];
  'job:abandoned': [{ queue: string; id: string; shard?: number }];
  /** A progress write (ctx.progress, rate-limited); `written` false: the attempt was no longer active. */
  'job:progress': [{ queue: string; id: string; written: boolean }];
  'job:cancelled': [{ queue: string; id: string; seconds: number }];
  /** Put back unrun by a fleet-wide limit (no attempt used). */
  'job:deferred': [{ queue: string; id: string; reason: string }];
  /** Running jobs of a dead replica given back to their queue by this one. */
  'jobs:rescued': [{ queue: string; owner: string; count: number; reason: 'replica_dead' }];
  /** Running jobs of this replica that another gave back while this one was unreachable. */
  'jobs:taken-over': [{ ids: string[] }];
  /** `shard`: set when the replica drains several shards (the one whose claim failed). */
  'fetch:error': [{ queue: string; error: Error; shard?: number }];
  'settle:error': [{ queue: string; error: Error; jobs: number; shard?: number }];
}

export class WorkerEvents extends EventEmitter<WorkerEventMap> {}
