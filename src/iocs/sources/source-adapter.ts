/**
 * The one interface every upstream threat-intel source implements (one adapter per upstream), and
 * the normalised result it returns. Raw vendor JSON is never the contract: it rides
 * along in `raw` for the `debug` flag only.
 */
import type { IocType, ParsedIoc, ThreatCategory } from '../ioc-types.js';

export type SourceName = 'ABUSEIPDB' | 'OTX' | 'VIRUSTOTAL';
export const SOURCE_NAMES: readonly SourceName[] = ['ABUSEIPDB', 'OTX', 'VIRUSTOTAL'];

export type SourceStatus = 'OK' | 'ERROR' | 'SKIPPED';

export type SourceErrorKind =
  /** SKIPPED: no API key configured. */
  | 'NOT_CONFIGURED'
  /** SKIPPED: the source has no endpoint for this IOC type. */
  | 'UNSUPPORTED'
  /** SKIPPED: private/reserved/documentation value, never sent upstream. */
  | 'NOT_ROUTABLE'
  | 'AUTH'
  /** ERROR: the vendor answered 429; the source is marked exhausted until retryAt. */
  | 'RATE_LIMITED'
  | 'TIMEOUT'
  | 'UPSTREAM'
  | 'MALFORMED'
  | 'TOO_LARGE'
  /** SKIPPED: our own rate gate holds the call back until retryAt (deferred, not failed). */
  | 'QUOTA_DEFERRED';

export interface SourceEvidence {
  /** The vendor lists the value as known-benign (AbuseIPDB isWhitelisted, OTX validation). */
  whitelisted?: boolean;
  /** The vendor has any record of the value (reports, pulses, an analysis). */
  known?: boolean;
}

export interface SourceResult {
  source: SourceName;
  status: SourceStatus;
  /** 0–100 sub-score; null when the source has no opinion (e.g. VirusTotal 404). */
  score: number | null;
  categories: ThreatCategory[];
  /** Key facts, normalised names, small: what an analyst reads in the breakdown. */
  data: Record<string, unknown>;
  raw?: unknown;
  error?: string;
  errorKind?: SourceErrorKind;
  retryAt?: Date;
  durationMs: number;
  fetchedAt: Date;
  evidence?: SourceEvidence;
}

export interface SourceAdapter {
  readonly name: SourceName;
  supports(type: IocType): boolean;
  /** Never throws: every failure is a result with status ERROR or SKIPPED. */
  lookup(ioc: ParsedIoc, signal: AbortSignal): Promise<SourceResult>;
}

export type RateGateDecision = { ok: true } | { ok: false; retryAt: Date };

/**
 * Request budget per source, shared by all instances in production (Redis) and in
 * memory in tests. Adapters ask before every upstream request, including retries.
 */
export interface RateGate {
  tryAcquire(source: SourceName): Promise<RateGateDecision>;
  /** After a vendor 429: no request to this source until `until`. */
  markExhausted(source: SourceName, until: Date): Promise<void>;
}

export interface SourceAdapterOptions {
  /** Secret handed in from config (adapters never read the environment); absent → every lookup is SKIPPED. */
  apiKey?: string;
  baseUrl: string;
  /** Budget for the whole lookup, retries and backoff included. */
  timeoutMs: number;
  connectTimeoutMs: number;
  maxResponseBytes: number;
  /** Extra attempts after the first, on network errors and 5xx only. */
  maxRetries: number;
  /** Upstream requests in flight at once from this process. */
  concurrency: number;
  /** First backoff delay; doubles per attempt. Tests shorten it. */
  retryBaseDelayMs?: number;
}

export type SourceAdapterFactory = (options: SourceAdapterOptions, gate: RateGate) => SourceAdapter;
