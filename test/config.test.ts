import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { fromRoot } from '../src/platform/paths.js';

describe('config', () => {
  it('has working defaults with an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).toBe(4000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.database.url).toBeUndefined();
    expect(c.redis.url).toBeUndefined();
    expect(c.corsOrigins).toEqual([]);
    expect(Object.isFrozen(c.limits)).toBe(true);
  });

  it('names the variable in errors', () => {
    const bad = (env: Record<string, string>) => () => loadConfig(env);
    expect(bad({ PORT: 'eighty' })).toThrow(/PORT: must be an integer/);
    expect(bad({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a URL/);
    expect(bad({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL/);
    expect(bad({ ADMIN_API_KEY: 'short' })).toThrow(/ADMIN_API_KEY: must be at least 24/);
    expect(bad({ CORS_ORIGINS: 'not a url' })).toThrow(ConfigError);
    expect(bad({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });

  it('treats empty values (as copied from .env.example) as unset', () => {
    const c = loadConfig({ DATABASE_URL: '', REDIS_URL: '', ADMIN_API_KEY: '', PUBLIC_URL: '' });
    expect(c.database.url).toBeUndefined();
    expect(c.adminApiKey).toBeUndefined();
  });

  it('.env.example documents exactly the variables config reads, and parses', () => {
    const example = readFileSync(fromRoot('.env.example'), 'utf8');
    const documented = [...example.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)];
    const source = readFileSync(fromRoot('src', 'config.ts'), 'utf8');
    const read = [...source.matchAll(/^ {2}([A-Z0-9_]+): /gm)].map((m) => m[1]);
    expect(documented.map((m) => m[1]).sort()).toEqual([...read].sort());
    const env: Record<string, string> = Object.fromEntries(documented.map((m) => [m[1] ?? '', m[2] ?? '']));
    expect(() => loadConfig(env)).not.toThrow();
  });
});
