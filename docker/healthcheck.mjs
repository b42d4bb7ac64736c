// Docker HEALTHCHECK: /readyz of the role this container runs. Only one of the API and the worker
// listens in a container, so the first port that answers is its own.
const ports = [process.env.API_PORT || '8080', process.env.WORKER_PORT || '9464'];
for (const port of ports) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
    process.exit(res.ok ? 0 : 1);
  } catch {
    // not this role's port
  }
}
process.exit(1);
