/**
 * deploy/k8s without a cluster: every manifest validates against the Kubernetes (and KEDA /
 * Prometheus Operator) OpenAPI schemas shipped by kubernetes-models, and agrees with the apps — env
 * vars exist in loadConfig and parse, required ones are set, commands exist in the image's
 * entrypoint, ports and probe paths are the ones the apps serve, grace periods exceed the drains,
 * selectors and scale targets point at what exists. The sharded overlay (deploy/k8s-sharded) sets a
 * valid two-shard map with one replica each; `kubectl kustomize` builds it where kubectl is installed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ENV_VARS, loadConfig } from '@taskfleet/core';

const root = new URL('../', import.meta.url);
const dir = new URL('deploy/k8s/', root);
const read = (rel: string) => readFileSync(new URL(rel, dir), 'utf8');
// Manifests are plain YAML data, checked field by field below.
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; spec?: any; data?: any; stringData?: any };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
};

const kustomization = parse(read('kustomization.yaml')) as { resources: string[] };
const files = [...kustomization.resources, 'monitoring/podmonitor.yaml'];
const manifests: Manifest[] = files.map((f) => parse(read(f)) as Manifest);
const find = (kind: string, name: string) => {
  const m = manifests.find((x) => x.kind === kind && x.metadata.name === name);
  if (!m) throw new Error(`no ${kind} ${name}`);
  return m;
};
const configMap = find('ConfigMap', 'taskfleet-config');
const secret = find('Secret', 'taskfleet-secrets');
const env = { ...configMap.data, ...secret.stringData } as Record<string, string>;
const config = loadConfig(env);
const entrypoint = readFileSync(new URL('docker/entrypoint.sh', root), 'utf8');
const dockerUser = /^USER\s+(\S+)/m.exec(readFileSync(new URL('Dockerfile', root), 'utf8'))?.[1];

describe('deploy/k8s', () => {
  it('lists every manifest in kustomization.yaml', () => {
    const onDisk = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(onDisk.sort());
  });

  it('validates every manifest against its schema', () => {
    for (const [i, m] of manifests.entries()) {
      const Model = MODELS[`${m.apiVersion}/${m.kind}`];
      expect(Model, `${files[i]}: ${m.apiVersion} ${m.kind} has no schema here`).toBeDefined();
      expect(() => new (Model as NonNullable<typeof Model>)(m as never).validate(), files[i]).not.toThrow();
    }
  });

  it('would catch a broken manifest (the validator is not a no-op)', () => {
    const api = structuredClone(find('Deployment', 'taskfleet-api'));
    api.spec.template.spec.containers[0].ports[0].containerPort = '8080x';
    expect(() => new Deployment(api as never).validate()).toThrow(/containerPort/);
    const scaled = structuredClone(find('ScaledObject', 'taskfleet-worker'));
    delete scaled.spec.scaleTargetRef;
    expect(() => new ScaledObject(scaled as never).validate()).toThrow(/scaleTargetRef/);
  });

  it('sets only variables loadConfig knows, with values it accepts, including DATABASE_URL', () => {
    for (const key of Object.keys(env)) expect(Object.keys(ENV_VARS), key).toContain(key);
    expect(config.database.url).toMatch(/^postgres:\/\//);
    expect(config.env).toBe('production');
  });

  const pods = [find('Deployment', 'taskfleet-api'), find('Deployment', 'taskfleet-worker'), find('Job', 'taskfleet-migrate')];

  it('runs roles the image entrypoint knows, as the image user, with the shared config', () => {
    for (const pod of pods) {
      const spec = pod.spec.template.spec;
      expect(spec.securityContext.runAsUser, pod.metadata.name).toBe(1000);
      expect(dockerUser).toBe('node'); // uid 1000 in node images
      for (const c of spec.containers) {
        expect(c.image).toBe('taskfleet');
        expect(entrypoint).toContain(`\n  ${c.args[0]})`);
        expect(
          c.envFrom.map(
            (e: { configMapRef?: { name: string }; secretRef?: { name: string } }) => e.configMapRef?.name ?? e.secretRef?.name,
          ),
        ).toEqual(['taskfleet-config', 'taskfleet-secrets']);
        expect(c.resources.requests.memory).toBeDefined();
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
      }
    }
  });

  it('exposes the ports the apps listen on, with probes on the apps health paths', () => {
    const expected = { 'taskfleet-api': config.api.port, 'taskfleet-worker': config.worker.port };
    for (const [name, port] of Object.entries(expected)) {
      const pod = find('Deployment', name).spec.template;
      const c = pod.spec.containers[0];
      const portNames = new Map(c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
      expect([...portNames.values()], name).toEqual([port]);
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) expect(portNames.has(probe.httpGet.port), name).toBe(true);
      expect(pod.metadata.annotations['prometheus.io/port']).toBe(String(port));
      expect(pod.metadata.annotations['prometheus.io/path']).toBe('/metrics');
    }
    const service = find('Service', 'taskfleet-api');
    const apiPod = find('Deployment', 'taskfleet-api').spec.template;
    expect(apiPod.metadata.labels).toMatchObject(service.spec.selector);
    expect(apiPod.spec.containers[0].ports.map((p: { name: string }) => p.name)).toContain(service.spec.ports[0].targetPort);
  });

  it('gives every pod longer to stop than its drain takes', () => {
    const worker = find('Deployment', 'taskfleet-worker').spec.template.spec.terminationGracePeriodSeconds;
    expect(worker).toBeGreaterThan(config.worker.shutdownGraceSeconds + config.worker.abandonGraceMs / 1000 + 5);
    const api = find('Deployment', 'taskfleet-api').spec.template.spec.terminationGracePeriodSeconds;
    expect(api).toBeGreaterThan((config.api.shutdownDelayMs + config.api.requestTimeoutMs) / 1000 + 5);
  });

  it('points autoscalers and disruption budgets at the Deployments they govern', () => {
    expect(find('HorizontalPodAutoscaler', 'taskfleet-api').spec.scaleTargetRef).toMatchObject({
      kind: 'Deployment',
      name: 'taskfleet-api',
    });
    expect(find('ScaledObject', 'taskfleet-worker').spec.scaleTargetRef.name).toBe('taskfleet-worker');
    for (const name of ['taskfleet-api', 'taskfleet-worker']) {
      const labels = find('Deployment', name).spec.template.metadata.labels;
      expect(labels).toMatchObject(find('PodDisruptionBudget', name).spec.selector.matchLabels);
      expect(labels).toMatchObject(find('Deployment', name).spec.selector.matchLabels);
    }
    const monitor = find('PodMonitor', 'taskfleet');
    const portNames = pods.slice(0, 2).flatMap((p) => p.spec.template.spec.containers[0].ports.map((x: { name: string }) => x.name));
    for (const endpoint of monitor.spec.podMetricsEndpoints) expect(portNames).toContain(endpoint.port);
  });
});

describe('deploy/k8s-sharded (overlay: two shards, one streaming replica each)', () => {
  const overlayDir = new URL('deploy/k8s-sharded/', root);
  const overlay = parse(readFileSync(new URL('kustomization.yaml', overlayDir), 'utf8')) as {
    resources: string[];
    patches: { path: string }[];
  };
  const patch = parse(readFileSync(new URL(overlay.patches[0]?.path ?? '', overlayDir), 'utf8')) as Manifest;
  /** The Secret's strategic merge: keys set to null are removed. */
  const merged = Object.fromEntries(Object.entries({ ...secret.stringData, ...patch.stringData }).filter(([, v]) => v !== null)) as Record<
    string,
    string
  >;

  it('patches only the base Secret, with variables loadConfig knows and a map of two shards with one replica each', () => {
    expect(overlay.resources).toEqual(['../k8s']);
    expect(overlay.patches).toHaveLength(1);
    expect([patch.kind, patch.metadata.name]).toEqual(['Secret', 'taskfleet-secrets']);
    for (const key of Object.keys(merged)) expect(Object.keys(ENV_VARS), key).toContain(key);
    expect(merged.DATABASE_URL).toBeUndefined();
    const sharded = loadConfig({ ...configMap.data, ...merged });
    expect(sharded.database.shards.map((s) => [s.id, s.readUrls.length])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    expect(sharded.database.url).toBe(sharded.database.shards[0]?.url);
  });

  it('builds with kubectl kustomize (where kubectl is installed) into valid manifests carrying that map', () => {
    const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
    if (probe.status !== 0) return; // no kubectl on this machine: the parsing above is the check
    const built = spawnSync('kubectl', ['kustomize', 'deploy/k8s-sharded'], { cwd: new URL('.', root), encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const docs = parseAllDocuments(built.stdout).map((d) => d.toJSON() as Manifest);
    expect(docs.length).toBe(kustomization.resources.length);
    for (const m of docs) {
      const Model = MODELS[`${m.apiVersion}/${m.kind}`];
      expect(Model, `${m.kind} ${m.metadata.name}`).toBeDefined();
      expect(() => new (Model as NonNullable<typeof Model>)(m as never).validate(), m.metadata.name).not.toThrow();
    }
    const builtSecret = docs.find((m) => m.kind === 'Secret');
    expect(builtSecret?.stringData).toEqual(merged);
  });
});
