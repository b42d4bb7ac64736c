import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { queueOptionsFor } from '../queue-sync.ts';
import { BASE_TASK_DEFAULTS, defineTask } from './define.ts';
import { loadTaskModules } from './modules.ts';
import { allTasks, getTaskDefinition, isTaskName, registerTask, TASK_NAMES, taskNames, TASKS } from './registry.ts';

describe('task registry', () => {
  it('ships http.request and noop', () => {
    expect(TASK_NAMES).toEqual(expect.arrayContaining(['http.request', 'noop']));
    expect(isTaskName('noop')).toBe(true);
    expect(isTaskName('toString')).toBe(false);
    expect(getTaskDefinition('nope')).toBeUndefined();
  });

  it('fills defaults from the base and the definition', () => {
    const def = TASKS['http.request'];
    expect(def.defaults.maxAttempts).toBe(8);
    expect(def.defaults.deadLetter).toBe(true);
    expect(def.defaults.retentionSeconds).toBe(BASE_TASK_DEFAULTS.retentionSeconds);
  });

  it('maps defaults to pg-boss queue options (retryLimit = attempts - 1, expiry past the timeout, dead letter beside)', () => {
    const opts = queueOptionsFor(TASKS.noop);
    expect(opts.retryLimit).toBe(TASKS.noop.defaults.maxAttempts - 1);
    expect(opts.expireInSeconds).toBeGreaterThan(TASKS.noop.defaults.timeoutSeconds);
    expect(opts.deadLetter).toBe('noop.dead');
    expect(opts.notify).toBe(true);
  });

  it('maps a fixed retry delay without a ceiling (pg-boss refuses retryDelayMax without backoff)', () => {
    const fixed = defineTask({ name: 'fixed.delay', description: '', schema: z.object({}), defaults: { retryBackoff: false } });
    const opts = queueOptionsFor(fixed);
    expect(opts).toMatchObject({ retryBackoff: false, retryDelay: BASE_TASK_DEFAULTS.retryDelaySeconds });
    expect(opts).not.toHaveProperty('retryDelayMax');
  });

  it('registers task types at run time, once per name', () => {
    const extra = defineTask({ name: 'extra.one', description: '', schema: z.object({}) });
    registerTask(extra);
    registerTask(extra); // same definition again: no-op
    expect(getTaskDefinition('extra.one')).toBe(extra);
    expect(taskNames()).toContain('extra.one');
    expect(allTasks()['extra.one']).toBe(extra);
    expect(() => registerTask(defineTask({ name: 'extra.one', description: 'other', schema: z.object({}) }))).toThrow(/already defined/);
    expect(() => registerTask(defineTask({ name: 'noop', description: 'shadow', schema: z.object({}) }))).toThrow(/already defined/);
  });

  it('loads TASK_MODULES and names the module that is wrong', async () => {
    const entries = await loadTaskModules([new URL('../../../../test-support/tasks/ledger.ts', import.meta.url).pathname]);
    expect(entries.map((e) => e.definition.name)).toEqual(['test.ledger']);
    expect(getTaskDefinition('test.ledger')).toBe(entries[0]?.definition);
    await expect(loadTaskModules(['./does-not-exist.ts'])).rejects.toThrow(/TASK_MODULES: cannot load "\.\/does-not-exist\.ts"/);
    await expect(loadTaskModules(['node:path'])).rejects.toThrow(/does not export a `tasks` array/);
  });

  it('refuses bad definitions', () => {
    expect(() => defineTask({ name: 'Bad Name', description: '', schema: z.object({}) })).toThrow(/task name "Bad Name" is invalid/);
    expect(() => defineTask({ name: 'x', description: '', schema: z.object({}), defaults: { maxAttempts: 0 } })).toThrow(/maxAttempts/);
  });
});

describe('http.request payload', () => {
  const schema = TASKS['http.request'].schema;

  it('accepts a URL and JSON body, defaulting method POST', () => {
    const parsed = schema.parse({ url: 'https://example.com/hook', body: { a: [1, 'x', null] } });
    expect(parsed.method).toBe('POST');
    expect(parsed.headers).toEqual({});
  });

  it.each([
    [{ url: 'ftp://example.com' }, 'url'],
    [{ url: 'not a url' }, 'url'],
    [{ url: 'https://e.com', method: 'TRACE' }, 'method'],
    [{ url: 'https://e.com', headers: { 'bad header': 'x' } }, 'headers'],
    [{ url: 'https://e.com', headers: { Host: 'evil' } }, 'headers'],
    [{ url: 'https://e.com', headers: { 'x-a': 'line\r\nInjected: 1' } }, 'headers'],
    [{ url: 'https://e.com', extra: 1 }, ''],
  ])('rejects %j at %s', (payload, field) => {
    const result = schema.safeParse(payload);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0] ?? '').toBe(field);
  });
});

describe('noop payload', () => {
  it('accepts empty and control fields, rejects unknown ones', () => {
    expect(TASKS.noop.schema.safeParse({}).success).toBe(true);
    expect(TASKS.noop.schema.safeParse({ sleepMs: 5, failAttempts: 2, echo: { x: 1 } }).success).toBe(true);
    expect(TASKS.noop.schema.safeParse({ sleepMs: -1 }).success).toBe(false);
    expect(TASKS.noop.schema.safeParse({ what: 1 }).success).toBe(false);
  });
});
