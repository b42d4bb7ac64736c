/**
 * Type-level only (checked by `tsc -p packages/client`, never run): the client's own copies of the
 * wire shapes (src/types.ts) must stay equal to packages/core's, which the API builds its answers from.
 */
import type * as core from '@taskfleet/core';
import type * as client from '../src/types.ts';

/** Assignable both ways and with the same keys (optional extras would pass plain assignability). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? SameKeys<A, B> : false) : false;
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type Assert<T extends true> = T;

type PayloadsOfCore = { [N in core.TaskName]: core.PayloadInputOf<core.TaskMap[N]> };

export type Checks = [
  Assert<Same<client.Priority, core.PriorityName>>,
  Assert<Same<client.TaskState, core.TaskState>>,
  Assert<Same<client.Problem, core.Problem>>,
  Assert<Same<client.FieldError, core.FieldError>>,
  Assert<Same<client.Task<unknown>, core.TaskView<unknown>>>,
  Assert<Same<client.BatchResult, core.BatchResult>>,
  Assert<Same<client.Schedule, core.ScheduleView>>,
  Assert<Same<client.QueueInfo, core.QueueInfo>>,
  Assert<Same<client.WorkerInfo, core.WorkerView>>,
  Assert<Same<client.TaskName, core.TaskName>>,
  Assert<Same<client.TaskPayloads['http.request'], PayloadsOfCore['http.request']>>,
  Assert<Same<client.TaskPayloads['noop'], PayloadsOfCore['noop']>>,
  Assert<Same<client.TaskPayloads['taskfleet.callback'], PayloadsOfCore['taskfleet.callback']>>,
];
