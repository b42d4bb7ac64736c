import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, configTableMarkdown, ENV_VARS, loadConfig, requireDatabaseUrl } from './config.ts';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('gives typed defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.env).toBe('development');
    expect(config.api.port).toBe(8080);
    expect(config.worker.concurrency).toBe(100);
    expect(config.worker.replicas).toBe(2);
    expect(config.worker.queues).toBeNull();
    expect(config.database.url).toBeUndefined();
  });

  it('names the bad variable and the expected form (WORKER_CONCURRENCY=abc)', () => {
    const problems = problemsOf({ WORKER_CONCURRENCY: 'abc' });
    expect(problems).toEqual(['WORKER_CONCURRENCY="abc" is invalid: expected an integer from 1 to 10000']);
  });

  it('reports every bad variable at once', () => {
    const problems = problemsOf({ API_PORT: '70000', LOG_LEVEL: 'loud', WORKER_QUEUES: 'Bad Name' });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/API_PORT="70000".*integer from 1 to 65535/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL="loud".*one of fatal \| error/);
    expect(problems.join('\n')).toMatch(/WORKER_QUEUES="Bad Name".*comma-separated queue names/);
  });

  it('rejects fractional and signed numbers rather than truncating them', () => {
    expect(problemsOf({ WORKER_CONCURRENCY: '1.5' })).toHaveLength(1);
    expect(problemsOf({ WORKER_CONCURRENCY: '0' })).toHaveLength(1);
    expect(problemsOf({ WORKER_CONCURRENCY: '-3' })).toHaveLength(1);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ API_PORT: '', DATABASE_URL: '  ' }).api.port).toBe(8080);
  });

  it('validates DATABASE_URL without echoing it', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://user:hunter2@db/x' });
    expect(problems[0]).toMatch(/^DATABASE_URL=<redacted> is invalid: expected a postgres:\/\/ URL$/);
    expect(problems[0]).not.toContain('hunter2');
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h:5432/d' }).database.url).toBe('postgresql://u@h:5432/d');
  });

  it('parses queue lists', () => {
    expect(loadConfig({ WORKER_QUEUES: 'noop, http.request' }).worker.queues).toEqual(['noop', 'http.request']);
  });

  it('refuses a dead-replica window shorter than three presence beats', () => {
    expect(() => loadConfig({ WORKER_PRESENCE_INTERVAL_MS: '2000', WORKER_DEAD_AFTER_SECONDS: '5' })).toThrow(
      /WORKER_DEAD_AFTER_SECONDS=5 is too short: expected at least 3 beats of WORKER_PRESENCE_INTERVAL_MS=2000/,
    );
    expect(loadConfig({ WORKER_PRESENCE_INTERVAL_MS: '1000', WORKER_DEAD_AFTER_SECONDS: '3' }).worker.deadAfterSeconds).toBe(3);
  });

  it('requireDatabaseUrl fails clearly when unset', () => {
    expect(() => requireDatabaseUrl(loadConfig({}))).toThrow(/DATABASE_URL is not set/);
  });
});

describe('README configuration table', () => {
  it('lists every variable the fleet reads, exactly as generated (npm run docs:config)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(configTableMarkdown());
    for (const name of Object.keys(ENV_VARS)) expect(readme).toContain(`\`${name}\``);
  });
});
