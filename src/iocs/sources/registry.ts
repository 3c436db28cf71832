/**
 * Source name → adapter factory and defaults (a map, not if/else: adding a source is one entry). The
 * service builds its adapters from config through createSourceAdapters.
 */
import { ABUSEIPDB_DEFAULT_BASE_URL, createAbuseIpdbAdapter } from './abuseipdb.js';
import { OTX_DEFAULT_BASE_URL, createOtxAdapter } from './otx.js';
import type {
  RateGate,
  SourceAdapter,
  SourceAdapterFactory,
  SourceAdapterOptions,
  SourceName,
} from './source-adapter.js';
import { SOURCE_NAMES } from './source-adapter.js';
import { VIRUSTOTAL_DEFAULT_BASE_URL, createVirusTotalAdapter } from './virustotal.js';

const MB = 1024 * 1024;

export const SOURCE_FACTORIES: Readonly<Record<SourceName, SourceAdapterFactory>> = {
  ABUSEIPDB: createAbuseIpdbAdapter,
  OTX: createOtxAdapter,
  VIRUSTOTAL: createVirusTotalAdapter,
};

export const SOURCE_DEFAULTS: Readonly<Record<SourceName, Omit<SourceAdapterOptions, 'apiKey'>>> = {
  // Verbose /check lists up to the last reports: keep room for them.
  ABUSEIPDB: {
    baseUrl: ABUSEIPDB_DEFAULT_BASE_URL,
    timeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    maxResponseBytes: 2 * MB,
    maxRetries: 2,
    concurrency: 4,
  },
  // OTX is known to be slow and to answer 504; popular indicators carry many pulses.
  OTX: {
    baseUrl: OTX_DEFAULT_BASE_URL,
    timeoutMs: 20_000,
    connectTimeoutMs: 5_000,
    maxResponseBytes: 8 * MB,
    maxRetries: 2,
    concurrency: 4,
  },
  // A public key allows 4/min: more than 2 in flight would only queue at the gate.
  VIRUSTOTAL: {
    baseUrl: VIRUSTOTAL_DEFAULT_BASE_URL,
    timeoutMs: 10_000,
    connectTimeoutMs: 5_000,
    maxResponseBytes: 2 * MB,
    maxRetries: 1,
    concurrency: 2,
  },
};

export type SourceConfigs = Partial<Record<SourceName, Partial<SourceAdapterOptions>>>;

/** One adapter per source, always all three: a source without a key reports SKIPPED. */
export function createSourceAdapters(configs: SourceConfigs, gate: RateGate): SourceAdapter[] {
  return SOURCE_NAMES.map((name) =>
    SOURCE_FACTORIES[name]({ ...SOURCE_DEFAULTS[name], ...configs[name] }, gate),
  );
}
