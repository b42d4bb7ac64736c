/**
 * The task map: every task type the fleet knows. The API accepts only these names; the worker must
 * register a handler for each of them (checked at start). Built-in types are below; deployments add
 * their own through TASK_MODULES (see modules.ts), which registers them here at start.
 */
import { callbackTask } from './callback.ts';
import { httpRequestTask } from './http-request.ts';
import { noopTask } from './noop.ts';
import type { TaskDefinition } from './define.ts';

export const TASKS = {
  [httpRequestTask.name]: httpRequestTask,
  [noopTask.name]: noopTask,
  [callbackTask.name]: callbackTask,
} as const;

export type TaskMap = typeof TASKS;
export type TaskName = keyof TaskMap;

/** The built-in task types (typed). {@link taskNames} adds the ones registered from TASK_MODULES. */
export const TASK_NAMES = Object.keys(TASKS) as TaskName[];

const registered = new Map<string, TaskDefinition>();

export function isTaskName(name: string): name is TaskName {
  return Object.hasOwn(TASKS, name);
}

/**
 * Add a task type at run time (TASK_MODULES). Registering the same definition twice is a no-op;
 * a second definition under a taken name is refused.
 */
export function registerTask(definition: TaskDefinition): void {
  const existing = getTaskDefinition(definition.name);
  if (existing === definition) return;
  if (existing) throw new Error(`task type ${JSON.stringify(definition.name)} is already defined`);
  registered.set(definition.name, definition);
}

export function getTaskDefinition(name: string): TaskDefinition | undefined {
  return isTaskName(name) ? TASKS[name] : registered.get(name);
}

/** Every task type this process knows: built-in and registered. */
export function allTasks(): Record<string, TaskDefinition> {
  return { ...TASKS, ...Object.fromEntries(registered) };
}

export function taskNames(): string[] {
  return [...TASK_NAMES, ...registered.keys()];
}
