/**
 * Docker cannot run here, so docker-compose.yml is kept honest by parsing it: every variable it
 * sets exists in loadConfig and parses there, the commands exist in the entrypoint, the worker's
 * stop grace exceeds its drain, and the ports match the config. The same for the sharded example
 * (deploy/compose/sharded.yml), whose shard map must name its own services; `docker compose config`
 * checks both files too where Docker's compose is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

/** Docker's compose (plugin or standalone), when this machine has it. */
function composeCommand(): string[] | undefined {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const probe = spawnSync(cmd[0] as string, [...cmd.slice(1), 'version'], { encoding: 'utf8' });
    if (probe.status === 0) return cmd;
  }
  return undefined;
}

describe('deploy/compose/sharded.yml (two shards, one streaming replica each)', () => {
  type Service = {
    command?: string[];
    environment?: Record<string, string>;
    volumes?: string[];
    depends_on?: Record<string, { condition: string }>;
    build?: string;
    stop_grace_period?: string;
  };
  const file = new URL('deploy/compose/sharded.yml', root);
  const sharded = parse(readFileSync(file, 'utf8'), { merge: true }) as { services: Record<string, Service> };
  const apps = ['migrate', 'api', 'worker'] as const;
  const hostOf = (url: string) => new URL(url).hostname;

  it('gives every app the same valid shard map: two primaries with one replica each, all services of the file', () => {
    const configs = apps.map((name) => {
      const env = sharded.services[name]?.environment ?? {};
      for (const key of Object.keys(env)) expect(Object.keys(ENV_VARS), `${name}: ${key}`).toContain(key);
      return loadConfig(env);
    });
    for (const config of configs) expect(config.database.shards).toEqual(configs[0]?.database.shards);
    const shards = configs[0]?.database.shards ?? [];
    expect(shards.map((s) => [s.id, hostOf(s.url), s.readUrls.map(hostOf)])).toEqual([
      [0, 'postgres-0', ['postgres-0-replica']],
      [1, 'postgres-1', ['postgres-1-replica']],
    ]);
    for (const name of apps) expect(entrypoint).toContain(`${sharded.services[name]?.command?.[0]})`);
    for (const name of apps) expect(sharded.services[name]?.build).toBe('../..');
  });

  it("makes each replica from its own primary, through the slot and role the primary's init script creates", () => {
    const init = readFileSync(new URL('deploy/compose/replication-init.sh', root), 'utf8');
    for (const id of [0, 1]) {
      const primary = sharded.services[`postgres-${id}`];
      const replica = sharded.services[`postgres-${id}-replica`];
      expect(primary?.volumes).toContain('./replication-init.sh:/docker-entrypoint-initdb.d/replication-init.sh:ro');
      expect(replica?.environment?.PRIMARY).toBe(`postgres-${id}`);
      expect(replica?.depends_on?.[`postgres-${id}`]?.condition).toBe('service_healthy');
      const script = replica?.command?.join('\n') ?? '';
      expect(script).toContain('pg_basebackup -h "$$PRIMARY" -U replicator');
      const slot = / -S (\w+)/.exec(script)?.[1];
      expect(init).toContain(`pg_create_physical_replication_slot('${slot}')`);
      expect(init).toContain('CREATE ROLE replicator WITH REPLICATION LOGIN');
      expect(init).toMatch(/host replication replicator all/);
    }
    // The migrate job waits for every primary; it never needs the replicas.
    expect(Object.keys(sharded.services.migrate?.depends_on ?? {}).sort()).toEqual(['postgres-0', 'postgres-1']);
  });

  it('passes `docker compose config` where Docker compose is installed (both files)', () => {
    const cmd = composeCommand();
    if (!cmd) return; // no Docker compose on this machine: the parsing above is the check
    for (const f of ['docker-compose.yml', 'deploy/compose/sharded.yml']) {
      expect(existsSync(new URL(f, root))).toBe(true);
      const res = spawnSync(cmd[0] as string, [...cmd.slice(1), '-f', f, 'config', '-q'], { cwd: new URL('.', root), encoding: 'utf8' });
      expect(res.status, `${f}: ${res.stderr}`).toBe(0);
    }
  });
});
