import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './handlers/http-request.ts';
import { AllowList, isBlockedAddress } from './ssrf.ts';

describe('SSRF guard', () => {
  it.each([
    '127.0.0.1',
    '10.0.0.5',
    '172.20.1.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    'fe80::1',
    'fd00::1',
    '::ffff:127.0.0.1',
    '224.0.0.1',
  ])('blocks %s', (address) => expect(isBlockedAddress(address)).toBe(true));

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '172.32.0.1'])('allows public %s', (address) =>
    expect(isBlockedAddress(address)).toBe(false),
  );

  it('lets an allow-list open hosts, addresses and CIDRs', () => {
    const allow = new AllowList(['hooks.internal', '10.1.0.0/16', '127.0.0.1']);
    expect(allow.allows('hooks.internal', '10.9.9.9')).toBe(true);
    expect(allow.allows('x', '10.1.2.3')).toBe(true);
    expect(allow.allows('x', '10.2.0.1')).toBe(false);
    expect(allow.allows('x', '127.0.0.1')).toBe(true);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, bounded', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThanOrEqual(29);
    expect(parseRetryAfter('999999999')).toBe(86_400);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
