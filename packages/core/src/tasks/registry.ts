/**
 * The task map: every task type the fleet knows. The API accepts only these names; the worker must
 * register a handler for each of them (checked at start).
 */
import { httpRequestTask } from './http-request.ts';
import { noopTask } from './noop.ts';
import type { TaskDefinition } from './define.ts';

export const TASKS = {
  [httpRequestTask.name]: httpRequestTask,
  [noopTask.name]: noopTask,
} as const;

export type TaskMap = typeof TASKS;
export type TaskName = keyof TaskMap;

export const TASK_NAMES = Object.keys(TASKS) as TaskName[];

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(TASKS, name);
}

export function getTaskDefinition(name: string): TaskDefinition | undefined {
  return isTaskName(name) ? TASKS[name] : undefined;
}
