import { describe, expect, it } from 'vitest';
import { deadLetterQueueFor, isDeadLetterQueue, isValidTaskName, queueNameFor } from './queues.ts';

describe('queue naming', () => {
  it('gives each task type its own queue and a dead-letter queue beside it', () => {
    expect(queueNameFor('http.request')).toBe('http.request');
    expect(deadLetterQueueFor('http.request')).toBe('http.request.dead');
    expect(isDeadLetterQueue('http.request.dead')).toBe(true);
    expect(isDeadLetterQueue('http.request')).toBe(false);
  });

  it('accepts lower-case dotted names only, and never a dead-letter name', () => {
    for (const ok of ['noop', 'http.request', 'email.send-v2', 'a1_b']) expect(isValidTaskName(ok)).toBe(true);
    for (const bad of ['', 'HTTP', '1abc', 'a..b', 'a.', 'x.dead', 'a b', 'a/b', 'x'.repeat(101)]) expect(isValidTaskName(bad)).toBe(false);
  });
});
