/**
 * V8 flags (and the compile cache, below) the API and worker processes run with (supervisor,
 * benchmarks, package scripts, the CLI and the Docker entrypoint all pass the same ones;
 * test/node-flags.unit.test.ts checks).
 *
 * The young generation's size is the knob. A worker at concurrency 100 keeps ~130 MB RSS with a
 * 4 MiB semi-space instead of 170 MB with V8's default, at no measurable throughput cost (BENCHMARKS:
 * drain with and without). The API is the other way round: its in-flight requests outlive a 4 MiB
 * semi-space's scavenges and were promoted, so its old space grew (RSS 190 MB at 64 connections,
 * 250 MB at 256) and garbage collection took ~30 % of its CPU; with 16 MiB, same session, stock
 * PostgreSQL 15: RSS 156 / 191 MB, user CPU per request 57–68 µs instead of 72–100 µs
 * (32 MiB: 211 / 223 MB; 64 MiB: 268 / 290 MB).
 *
 * `--heap-growing-percent=50` (API only): V8 lets the old generation grow to several times its live
 * size before a full collection, and the memory it took stays resident. With the old generation
 * collected at 1.5× its live size the API held 163–167 MB at 256 connections instead of 186–213 MB,
 * for ~8 % more CPU per request. The worker does not take it: it held a soak's workers flat at
 * 134–138 MB (instead of stepping from 130 to 195–226 MB), but the drain fell from ~18,000 to
 * 11,500–13,300 jobs/s on the stock PostgreSQL 15 (graphile-worker in the same run: 19,400–20,200)
 * — BENCHMARKS.md, "Worker RSS".
 */
export const API_NODE_FLAGS = ['--max-semi-space-size=16', '--heap-growing-percent=50'];
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=4'];

/** The flags for an app's entry script (`apps/api/...`, `apps/worker/...`); none for anything else. */
export function nodeFlagsFor(script: string): string[] {
  if (script.includes('apps/api/')) return API_NODE_FLAGS;
  if (script.includes('apps/worker/')) return WORKER_NODE_FLAGS;
  return [];
}

/**
 * Node's compile cache for the app processes (`NODE_COMPILE_CACHE`): besides V8's code cache it keeps
 * the type-stripped JavaScript of every `.ts` module, so a process whose modules are all in the cache
 * never loads Node's TypeScript stripper (amaro: swc as WebAssembly, a 3.8 MB source string and its
 * buffers). Measured on the API at idle: RSS 128 → 109 MB, external memory 11.2 → 4.7 MB. Each
 * process flushes the cache once it has started (run-main.ts), so the next one — another replica,
 * a restart — starts warm; entries are keyed by the file's content and Node's version. An
 * environment that sets NODE_COMPILE_CACHE itself (or to '' to turn it off) keeps its value.
 */
export const COMPILE_CACHE_DIR = '/tmp/taskfleet-node-compile-cache';

/** Environment for an app's entry script: the compile cache unless the environment chose. */
export function nodeEnvFor(script: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (nodeFlagsFor(script).length === 0 || env.NODE_COMPILE_CACHE !== undefined) return {};
  return { NODE_COMPILE_CACHE: COMPILE_CACHE_DIR };
}
