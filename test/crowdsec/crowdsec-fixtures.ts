/** Realistic alerts as a CrowdSec agent would post them, for tests against a real LAPI. */
import type { NewAlert } from '../../src/crowdsec/lapi-types.js';
import { LapiClient } from '../../src/crowdsec/lapi-client.js';
import { createLogger } from '../../src/platform/logger.js';
import type { Lapi } from '../helpers/crowdsec-lapi.js';

export interface AgentAlert {
  scenario: string;
  ip: string;
  /** The agent's own enrichment; omitted = threatwire's GeoIP must fill it in. */
  cn?: string;
  asNumber?: string;
  asName?: string;
  latitude?: number;
  longitude?: number;
  minutesAgo?: number;
  events?: number;
  /** Ban duration; omitted = an alert without decisions. */
  ban?: string;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function agentAlert(a: AgentAlert): NewAlert {
  const start = new Date(Date.now() - (a.minutesAgo ?? 0) * 60_000);
  const stop = new Date(start.getTime() + 20_000);
  const events = a.events ?? 6;
  return {
    scenario: a.scenario,
    scenario_hash: 'a1b2c3',
    scenario_version: '0.2',
    message: `Ip ${a.ip} performed '${a.scenario}' (${events} events over 20s) at ${iso(stop)}`,
    events_count: events,
    events: Array.from({ length: Math.min(events, 3) }, (_, i) => ({
      timestamp: iso(new Date(start.getTime() + i * 1000)),
      meta: [
        { key: 'source_ip', value: a.ip },
        { key: 'service', value: a.scenario.includes('ssh') ? 'ssh' : 'http' },
      ],
    })),
    capacity: 5,
    leakspeed: '10s',
    simulated: false,
    start_at: iso(start),
    stop_at: iso(stop),
    created_at: iso(new Date()),
    labels: [],
    source: {
      scope: 'Ip',
      value: a.ip,
      ip: a.ip,
      ...(a.cn ? { cn: a.cn } : {}),
      ...(a.asNumber ? { as_number: a.asNumber } : {}),
      ...(a.asName ? { as_name: a.asName } : {}),
      ...(a.latitude !== undefined ? { latitude: a.latitude, longitude: a.longitude ?? 0 } : {}),
    },
    decisions: a.ban
      ? [{ duration: a.ban, origin: 'crowdsec', scenario: a.scenario, scope: 'Ip', type: 'ban', value: a.ip }]
      : [],
  };
}

/** A watcher client logged in as the test machine: posts alerts like an agent. */
export function agentClient(lapi: Lapi): LapiClient {
  return new LapiClient({
    baseUrl: lapi.url,
    machineId: lapi.machineId,
    machinePassword: lapi.machinePassword,
    userAgent: 'crowdsec-test/1.4.6',
    timeoutMs: 10_000,
    logger: createLogger({ log: { level: 'silent', pretty: false } }),
  });
}

export function lapiEnv(
  lapi: Lapi,
  intervalMs: number,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    CROWDSEC_LAPI_URL: lapi.url,
    CROWDSEC_BOUNCER_KEY: lapi.bouncerKey,
    CROWDSEC_MACHINE_ID: lapi.machineId,
    CROWDSEC_MACHINE_PASSWORD: lapi.machinePassword,
    CROWDSEC_POLL_INTERVAL_MS: String(intervalMs),
    ...extra,
  };
}

export async function eventually<T>(
  fn: () => Promise<T | undefined | null | false | ''>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false && v !== '') return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
  );
}
