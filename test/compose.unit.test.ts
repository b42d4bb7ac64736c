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
    {
      command?: string[];
      environment?: Record<string, string>;
      stop_grace_period?: string;
      healthcheck?: { test: string[] };
      deploy?: { replicas?: number };
      volumes?: string[];
      ports?: string[];
      image?: string;
    }
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

  it('gives the worker and the API longer to stop than their drains take', () => {
    const worker = loadConfig(compose.services.worker?.environment ?? {}).worker;
    expect(seconds(compose.services.worker?.stop_grace_period ?? '10s')).toBeGreaterThan(
      worker.shutdownGraceSeconds + worker.abandonGraceMs / 1000,
    );
    const api = loadConfig(compose.services.api?.environment ?? {}).api;
    expect(seconds(compose.services.api?.stop_grace_period ?? '10s')).toBeGreaterThan(
      (api.shutdownDelayMs + api.requestTimeoutMs) / 1000 + 5,
    );
  });

  it("health checks run the image's readyz script on the ports the apps listen on", () => {
    const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
    const script = readFileSync(new URL('docker/healthcheck.mjs', root), 'utf8');
    expect(dockerfile).toMatch(/^COPY docker\/healthcheck\.mjs \/usr\/local\/lib\/taskfleet-healthcheck\.mjs$/m);
    expect(script).toContain('/readyz');
    for (const name of ['api', 'worker']) {
      expect(compose.services[name]?.healthcheck?.test).toEqual(['CMD', 'node', '/usr/local/lib/taskfleet-healthcheck.mjs']);
    }
    // The script tries API_PORT then WORKER_PORT, with the apps' own defaults.
    const api = loadConfig(compose.services.api?.environment ?? {});
    const worker = loadConfig(compose.services.worker?.environment ?? {});
    expect(script).toContain(`process.env.API_PORT || '${api.api.port}'`);
    expect(script).toContain(`process.env.WORKER_PORT || '${worker.worker.port}'`);
  });

  it('runs two API replicas behind the HAProxy balancer, which alone publishes the API port', () => {
    expect(compose.services.api?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(compose.services.api?.ports).toBeUndefined(); // replicas cannot share a host port
    const lb = compose.services.lb;
    expect(lb?.image).toMatch(/^haproxy:/);
    expect(lb?.volumes).toContain('./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    const cfg = readFileSync(new URL('deploy/haproxy/haproxy.cfg', root), 'utf8');
    const apiPort = loadConfig(compose.services.api?.environment ?? {}).api.port;
    expect(cfg).toContain(`server-template api 10 api:${apiPort}`);
    expect(cfg).toContain('option httpchk GET /readyz');
    expect(lb?.ports).toEqual([`${apiPort}:8080`]);
  });

  it('scrapes every replica and the balancer', () => {
    const prom = parse(readFileSync(new URL('deploy/prometheus/prometheus.yml', root), 'utf8')) as {
      scrape_configs: {
        job_name: string;
        dns_sd_configs?: { names: string[]; port: number }[];
        static_configs?: { targets: string[] }[];
      }[];
    };
    const jobs = new Map(prom.scrape_configs.map((j) => [j.job_name, j]));
    expect(jobs.get('taskfleet-api')?.dns_sd_configs?.[0]).toMatchObject({ names: ['api'], port: loadConfig({}).api.port });
    expect(jobs.get('taskfleet-worker')?.dns_sd_configs?.[0]).toMatchObject({
      names: ['worker'],
      port: loadConfig(compose.services.worker?.environment ?? {}).worker.port,
    });
    expect(jobs.get('taskfleet-lb')?.static_configs?.[0]?.targets).toEqual(['lb:8404']);
  });
});
