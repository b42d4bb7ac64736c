/**
 * Fails a test that leaves a pool, pg-boss instance, server or worker open (everything the core
 * factories open is registered in its resource registry), and a file that leaves one open after
 * its own afterAll hooks.
 */
import { afterAll, afterEach, beforeEach } from 'vitest';
import { openResources } from '@taskfleet/core';
import { describeLeaks } from './leaks.ts';

let before = new Set<number>();
beforeEach(() => {
  before = new Set(openResources().map((r) => r.id));
});
afterEach(() => {
  const message = describeLeaks(openResources(), before);
  if (message) throw new Error(`this test ${message}`);
});
// Registered before the file's own hooks, so it runs after them (after-hooks run in stack order).
afterAll(() => {
  const message = describeLeaks(openResources(), new Set());
  if (message) throw new Error(`this test file ${message}`);
});
