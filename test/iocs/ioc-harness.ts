/**
 * The three fake sources plus the env that points a test app at them, and the
 * GraphQL selections the IOC API tests share.
 */
import { abuseIpdbProfile } from '../fakes/fake-abuseipdb.js';
import { otxProfile } from '../fakes/fake-otx.js';
import { FakeUpstream } from '../fakes/fake-upstream.js';
import { virusTotalProfile } from '../fakes/fake-virustotal.js';

export interface Fakes {
  abuse: FakeUpstream;
  otx: FakeUpstream;
  vt: FakeUpstream;
  all: FakeUpstream[];
  /** Env for startTestApp: keys and base URLs of the fakes, collector off unless overridden. */
  env: Record<string, string>;
  totalCalls(): number;
  close(): Promise<void>;
}

export async function startFakes(): Promise<Fakes> {
  const [abuse, otx, vt] = await Promise.all([
    FakeUpstream.start(abuseIpdbProfile),
    FakeUpstream.start(otxProfile),
    FakeUpstream.start(virusTotalProfile),
  ]);
  const all = [abuse, otx, vt];
  return {
    abuse,
    otx,
    vt,
    all,
    env: {
      ABUSEIPDB_API_KEY: abuse.validKey,
      ABUSEIPDB_BASE_URL: abuse.baseUrl,
      OTX_API_KEY: otx.validKey,
      OTX_BASE_URL: otx.baseUrl,
      VIRUSTOTAL_API_KEY: vt.validKey,
      VIRUSTOTAL_BASE_URL: vt.baseUrl,
      IOC_COLLECTOR_ENABLED: 'false',
    },
    totalCalls: () => all.reduce((n, f) => n + f.calls.length, 0),
    close: async () => {
      await Promise.all(all.map((f) => f.close()));
    },
  };
}

export const IOC_FIELDS = `
  id type value riskScore riskLevel categories watched firstSeenAt lastEnrichedAt nextEnrichAt
  sources { source status score categories error errorKind deferred retryAt durationMs fetchedAt data }
  scoreBreakdown { source status subScore weight reliability contribution note }
`;

export interface SourceJson {
  source: string;
  status: string;
  score: number | null;
  categories: string[];
  error: string | null;
  errorKind: string | null;
  deferred: boolean;
  retryAt: string | null;
  data: Record<string, unknown>;
  raw?: unknown;
}

export interface IocJson {
  id: string;
  type: string;
  value: string;
  riskScore: number | null;
  riskLevel: string | null;
  categories: string[];
  watched: boolean;
  lastEnrichedAt: string | null;
  nextEnrichAt: string | null;
  sources: SourceJson[];
  scoreBreakdown: { source: string; status: string; contribution: number; note: string }[];
}

export const sourceOf = (ioc: IocJson, name: string): SourceJson | undefined =>
  ioc.sources.find((s) => s.source === name);

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
