/**
 * Docker cannot run here, so docker-compose.yml is kept honest by parsing it: every variable it
 * sets exists in loadConfig and parses there, the commands exist in the entrypoint, the worker's
 * stop grace exceeds its drain, and the ports match the config.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_VARS, loadConfig } from '@taskfleet/core';

const root = new URL('../', import.meta.url);
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
  services: Record<
    string,
    { command?: string[]; environment?: Record<string, string>; stop_grace_period?: string; healthcheck?: { test: string[] } }
  >;
};
const entrypoint = readFileSync(new URL('docker/entrypoint.sh', root), 'utf8');
const taskfleet = ['migrate', 'api', 'worker'] as const;

function seconds(duration: string): number {
  const m = /^(\d+)(s|m)$/.exec(duration);
  if (!m) throw new Error(`unsupported duration ${duration}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

describe('docker-compose.yml', () => {
  it('sets only variables that loadConfig knows, with values it accepts', () => {
    for (const name of taskfleet) {
      const env = compose.services[name]?.environment ?? {};
      for (const key of Object.keys(env)) expect(Object.keys(ENV_VARS), `${name}: ${key}`).toContain(key);
      expect(() => loadConfig(env), name).not.toThrow();
      expect(env.DATABASE_URL, name).toMatch(/^postgres:\/\//);
    }
  });

  it('runs commands the entrypoint knows', () => {
    for (const name of taskfleet) {
      const command = compose.services[name]?.command?.[0];
      expect(entrypoint).toContain(`${command})`);
    }
  });

  it('gives the worker longer to stop than its drain takes', () => {
    const worker = compose.services.worker;
    const drain = loadConfig(worker?.environment ?? {}).worker.shutdownGraceSeconds;
    expect(seconds(worker?.stop_grace_period ?? '10s')).toBeGreaterThan(drain);
  });

  it('health checks hit the ports the apps listen on', () => {
    const api = loadConfig(compose.services.api?.environment ?? {});
    const worker = loadConfig(compose.services.worker?.environment ?? {});
    expect(compose.services.api?.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${api.api.port}/readyz`);
    expect(compose.services.worker?.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${worker.worker.port}/readyz`);
  });
});
