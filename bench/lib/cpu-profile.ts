/**
 * Summarise a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per package,
 * as shares of the busy (non-idle) time, so a bench result says where an API's CPU goes.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileFrame {
  /** `function (file:line)`, file relative to the repository or its package. */
  frame: string;
  /** Share of busy time spent in this function itself, percent. */
  selfPct: number;
}

export interface ProfileSummary {
  /** Wall time covered, seconds. */
  seconds: number;
  /** Share of the wall time the process was not idle, percent (≈ one core's use). */
  busyPct: number;
  top: ProfileFrame[];
  /** Self time grouped by where the code lives (a package, node internals, our code, GC). */
  byArea: { area: string; selfPct: number }[];
}

function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'garbage collector';
  if (fn === '(program)' || fn === '(root)') return 'V8/native (program)';
  if (!url) return 'native';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.includes('/packages/core/')) return 'taskfleet core';
  if (url.includes('/apps/')) return 'taskfleet app';
  return 'other';
}

function shortUrl(url: string): string {
  const pkg = /node_modules\/(.*)$/.exec(url);
  if (pkg) return pkg[1] as string;
  const ours = /\/((?:apps|packages)\/.*)$/.exec(url);
  if (ours) return ours[1] as string;
  return url.replace(/^file:\/\//, '');
}

export function summariseProfile(profile: Profile, topN = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const frames = new Map<string, number>();
  const areas = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    const name = `${functionName || '(anonymous)'}${url ? ` (${shortUrl(url)}:${lineNumber + 1})` : ''}`;
    frames.set(name, (frames.get(name) ?? 0) + us);
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  const wall = profile.endTime - profile.startTime;
  return {
    seconds: Math.round(wall / 1e5) / 10,
    busyPct: Math.round((busy / Math.max(1, wall)) * 1000) / 10,
    top: [...frames]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([frame, us]) => ({ frame, selfPct: pct(us) })),
    byArea: [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfPct: pct(us) })),
  };
}

/** Read the one `.cpuprofile` a process wrote into `dir` and summarise it. */
export async function summariseProfileDir(dir: string, topN = 25): Promise<ProfileSummary> {
  const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  return summariseProfile(JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Profile, topN);
}
