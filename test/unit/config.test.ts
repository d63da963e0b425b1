import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configKeys, loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  it('runs on local defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/blog_poster');
    expect(config.PORT).toBe(3000);
  });

  it('names every bad variable', () => {
    expect(() => loadConfig({ PORT: 'eighty', REDIS_URL: 'nope', MIGRATE_ON_START: 'maybe' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', REDIS_URL: 'nope', MIGRATE_ON_START: 'maybe' });
    } catch (err) {
      const message = (err as Error).message;
      for (const key of ['PORT', 'REDIS_URL', 'MIGRATE_ON_START']) expect(message).toContain(`${key}:`);
    }
  });

  it('requires a real API key in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/DEV_API_KEY/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).PORT).toBe(3000);
  });

  it('documents every variable in the README', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const missing = configKeys.filter((key) => !readme.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });
});
