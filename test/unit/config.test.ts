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

  it('refuses to start the openai writer with a model that has no price, naming LLM_PRICES', () => {
    expect(() => loadConfig({ LLM_PROVIDER: 'openai', OPENAI_MODEL: 'llama3.1:8b' })).toThrow(
      /LLM_PRICES: no price for OPENAI_MODEL "llama3\.1:8b"/,
    );
    // Priced by LLM_PRICES (free here, said so explicitly), by its "*" entry, or by the built-in table.
    const free = JSON.stringify({ 'llama3.1:8b': { prompt: 0, completion: 0 } });
    expect(loadConfig({ LLM_PROVIDER: 'openai', OPENAI_MODEL: 'llama3.1:8b', LLM_PRICES: free }).OPENAI_MODEL).toBe(
      'llama3.1:8b',
    );
    expect(() => loadConfig({ LLM_PROVIDER: 'openai', OPENAI_MODEL: 'gpt-4.1-mini' })).not.toThrow();
    expect(() => loadConfig({ LLM_PROVIDER: 'openai' })).not.toThrow();
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
