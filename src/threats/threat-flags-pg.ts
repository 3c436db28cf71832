import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import type { ThreatFlagLookup, ThreatFlags } from './threat-flags.js';

/** An IOC counts as "known" from this fused risk score on (RiskLevel HIGH and CRITICAL). */
export const KNOWN_IOC_MIN_SCORE = 50;
/** How long a flag answer is reused: a new ban or enrichment shows on events within this time. */
export const FLAG_TTL_MS = 60_000;

/**
 * Flags from what the IOC and CrowdSec domains have stored: one query per ingest call
 * for the addresses not answered from the in-process cache, never an upstream call.
 * `banned` means an active, non-deleted `ban` decision on exactly this IP (range
 * decisions are not matched here).
 */
export class PgThreatFlagLookup implements ThreatFlagLookup {
  private readonly cache = new LRUCache<string, ThreatFlags>({ max: 200_000, ttl: FLAG_TTL_MS });

  constructor(private readonly pool: pg.Pool) {}

  async lookup(ips: readonly string[]): Promise<ReadonlyMap<string, ThreatFlags>> {
    const out = new Map<string, ThreatFlags>();
    const missing: string[] = [];
    for (const ip of ips) {
      const hit = this.cache.get(ip);
      if (hit) out.set(ip, hit);
      else missing.push(ip);
    }
    if (missing.length === 0) return out;
    const { rows } = await this.pool.query<{ ip: string; known_ioc: boolean; banned: boolean }>(
      `SELECT v.ip,
              EXISTS (SELECT 1 FROM iocs i WHERE i.value = v.ip AND i.risk_score >= $2) AS known_ioc,
              EXISTS (SELECT 1 FROM crowdsec_decisions d
                       WHERE d.value = v.ip AND d.type = 'ban' AND d.deleted_at IS NULL AND d.expires_at > now()) AS banned
         FROM unnest($1::text[]) AS v(ip)`,
      [missing, KNOWN_IOC_MIN_SCORE],
    );
    for (const r of rows) {
      const flags = { knownIoc: r.known_ioc, banned: r.banned };
      this.cache.set(r.ip, flags);
      out.set(r.ip, flags);
    }
    return out;
  }
}
