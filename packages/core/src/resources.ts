/**
 * A registry of open resources (pools, pg-boss instances, servers, workers). Factories register
 * what they open and release it on close, so a shutdown can say what is still open and the test
 * harness can fail a test that leaked one.
 */
export interface OpenResource {
  readonly id: number;
  readonly kind: string;
  readonly name: string;
  readonly openedAt: Date;
}

const open = new Map<number, OpenResource>();
let nextId = 1;

/** Record an open resource; call the returned function once it is closed (idempotent). */
export function trackResource(kind: string, name: string): () => void {
  const id = nextId++;
  open.set(id, { id, kind, name, openedAt: new Date() });
  return () => {
    open.delete(id);
  };
}

export function openResources(): OpenResource[] {
  return [...open.values()];
}
