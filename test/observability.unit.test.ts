/**
 * Dashboards, autoscaling and the compose Prometheus config reference only metrics taskfleet
 * exports (names from packages/core), so a renamed metric cannot silently empty a panel or stop
 * the autoscaler.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { METRICS } from '@taskfleet/core';

const read = (p: string) => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8');
const known = new Set<string>(Object.values(METRICS));
/** prom-client default metrics (prefixed) and Prometheus's own `up`. */
const defaults = /^(taskfleet_(process|nodejs)_\w+|up)$/;

function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(taskfleet_[a-z_]+|up)\b/g)].map((m) => (m[1] as string).replace(/_(bucket|sum|count)$/, ''));
}

describe('observability wiring', () => {
  it('the Grafana dashboard only queries exported metrics and covers the required panels', () => {
    const dash = JSON.parse(read('deploy/grafana/dashboards/taskfleet.json')) as {
      uid: string;
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dash.uid).toBe('taskfleet');
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
    for (const m of exprs.flatMap(metricsIn)) expect(known.has(m) || defaults.test(m), m).toBe(true);
    const titles = dash.panels.map((p) => p.title).join(' | ');
    for (const needed of [
      /Throughput in/,
      /Throughput out/,
      /Depth/,
      /priority/,
      /Oldest/,
      /Wait/,
      /Run time/,
      /Failure ratio/,
      /slots/,
      /API requests/,
      /API latency/,
      /Shed/,
    ]) {
      expect(titles).toMatch(needed);
    }
  });

  it('KEDA scales the worker on the exported queue gauge, with bounds and scale-from-zero', () => {
    const so = parse(read('deploy/k8s/worker-scaledobject.yaml')) as {
      kind: string;
      spec: {
        scaleTargetRef: { name: string };
        minReplicaCount: number;
        maxReplicaCount: number;
        cooldownPeriod: number;
        triggers: { type: string; metadata: Record<string, string> }[];
      };
    };
    expect(so.kind).toBe('ScaledObject');
    expect(so.spec.scaleTargetRef.name).toBe('taskfleet-worker');
    expect(so.spec.minReplicaCount).toBe(0);
    expect(so.spec.maxReplicaCount).toBeGreaterThan(so.spec.minReplicaCount);
    expect(so.spec.cooldownPeriod).toBeGreaterThan(0);
    const trigger = so.spec.triggers[0];
    expect(trigger?.type).toBe('prometheus');
    expect(metricsIn(trigger?.metadata.query ?? '')).toEqual([METRICS.queueDepth]);
    expect(trigger?.metadata.query).toMatch(/max by \(queue\)/);
    expect(Number(trigger?.metadata.threshold)).toBeGreaterThan(0);
    expect(trigger?.metadata.activationThreshold).toBe('0');
  });

  it('the API HPA targets the API deployment', () => {
    const hpa = parse(read('deploy/k8s/api-hpa.yaml')) as {
      kind: string;
      spec: { scaleTargetRef: { name: string }; minReplicas: number; maxReplicas: number };
    };
    expect(hpa.kind).toBe('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef.name).toBe('taskfleet-api');
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
  });

  it('alert rules only use exported metrics', () => {
    for (const m of metricsIn(read('deploy/prometheus/alerts.yml'))) expect(known.has(m) || defaults.test(m), m).toBe(true);
  });

  it('compose provisions Grafana and mounts the alert rules Prometheus loads', () => {
    const compose = parse(read('docker-compose.yml')) as { services: Record<string, { volumes?: string[] }> };
    expect(compose.services.grafana?.volumes).toEqual(
      expect.arrayContaining([
        './deploy/grafana/provisioning:/etc/grafana/provisioning:ro',
        './deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro',
      ]),
    );
    expect(compose.services.prometheus?.volumes).toContain('./deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
    const prom = parse(read('deploy/prometheus/prometheus.yml')) as { rule_files: string[] };
    expect(prom.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
  });
});
