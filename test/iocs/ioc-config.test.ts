import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('IOC configuration', () => {
  it('defaults to the free tiers and parses paid-tier budgets', () => {
    const defaults = loadConfig({});
    expect(defaults.sources.virustotal.rateLimits).toEqual([
      { points: 4, durationSeconds: 60 },
      { points: 500, durationSeconds: 86_400 },
    ]);
    expect(defaults.sources.abuseipdb.rateLimits).toEqual([{ points: 1000, durationSeconds: 86_400 }]);
    expect(defaults.sources.otx.rateLimits).toEqual([]);
    expect(defaults.iocs.collector).toEqual({
      enabled: true,
      intervalMs: 30_000,
      batchSize: 25,
      maxPerRun: 100,
      recentSeconds: 604_800,
    });
    const paid = loadConfig({ VIRUSTOTAL_RATE_LIMITS: ' 1000/60 , 50000/86400', OTX_RATE_LIMITS: '' });
    expect(paid.sources.virustotal.rateLimits).toEqual([
      { points: 1000, durationSeconds: 60 },
      { points: 50_000, durationSeconds: 86_400 },
    ]);
  });

  it('names the variable of a bad budget', () => {
    expect(() => loadConfig({ VIRUSTOTAL_RATE_LIMITS: '4 per minute' })).toThrow(ConfigError);
    expect(() => loadConfig({ ABUSEIPDB_RATE_LIMITS: '0/60' })).toThrow(/ABUSEIPDB_RATE_LIMITS/);
    expect(() => loadConfig({ IOC_COLLECTOR_BATCH_SIZE: '0' })).toThrow(/IOC_COLLECTOR_BATCH_SIZE/);
  });
});
