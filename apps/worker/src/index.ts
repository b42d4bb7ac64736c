export { connectionsNeeded, createWorker, type Worker, type WorkerDeps } from './worker.ts';
export { coerceError, PermanentError, RetryableError } from './errors.ts';
export { defineHandler, type Handler, type HandlerEntry, type TaskContext } from './handlers/types.ts';
