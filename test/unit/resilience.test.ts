import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { isPermanent, PermanentError } from '../../src/errors.ts';
import { FetchError } from '../../src/fetch/safe-fetch.ts';
import { LlmRefusalError } from '../../src/llm/errors.ts';
import { backoffMs } from '../../src/resilience/backoff.ts';
import { matchesSecret, secretDigest } from '../../src/security/secret-digest.ts';

describe('the shared resilience pieces', () => {
  it('backs off by the factor from the base, up to the cap, and jitter only takes off', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, { baseMs: 100, maxMs: 2_000 }))).toEqual([
      100, 200, 400, 800, 1600, 2000,
    ]);
    expect([1, 2, 3].map((n) => backoffMs(n, { baseMs: 50, maxMs: 1_000, factor: 1.5 }))).toEqual([50, 75, 113]);
    for (let i = 0; i < 200; i++) {
      const d = backoffMs(3, { baseMs: 1_000, maxMs: 3_600_000, jitter: 0.5 });
      expect(d).toBeGreaterThanOrEqual(2_000);
      expect(d).toBeLessThanOrEqual(4_000);
    }
  });

  it('says "do not retry" one way for every kind of final error', () => {
    expect(isPermanent(new PermanentError('gone'))).toBe(true);
    expect(isPermanent(new LlmRefusalError('no'))).toBe(true);
    expect(isPermanent(new UnrecoverableError('no post'))).toBe(true);
    expect(isPermanent(new FetchError('refused', { permanent: true, kind: 'refused' }))).toBe(true);
    expect(isPermanent(new FetchError('reset', { permanent: false }))).toBe(false);
    expect(isPermanent(new Error('boom'))).toBe(false);
    expect(isPermanent('a string')).toBe(false);
  });

  it('compares secrets through their digests', () => {
    const kept = secretDigest('s3cret');
    expect(matchesSecret('s3cret', kept)).toBe(true);
    expect(matchesSecret('s3cret!', kept)).toBe(false);
    expect(matchesSecret('', kept)).toBe(false);
    expect(matchesSecret('s3cret', null)).toBe(false);
  });
});
