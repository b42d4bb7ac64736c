export { createWorker, type WorkerDeps, type Worker } from './worker.ts';
