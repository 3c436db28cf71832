import proxyAddr from '@fastify/proxy-addr';
import { z } from 'zod';
import { bool, cidrList, int, optionalString, rateWindows, url } from './config-values.js';

/**
 * The only reader of process.env, so every setting is parsed and checked once, at start-up. A bad value stops start-up with a
 * message naming the variable.
 */

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('127.0.0.1'),
  PORT: int(4000, 0, 65535),
  LISTEN_BACKLOG: int(4096, 1, 65535),
  PUBLIC_URL: url(['http:', 'https:']),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: bool(false),
  LOG_SLOW_OPERATION_MS: int(1_000, 1, 3_600_000),
  LOG_SUMMARY_SECONDS: int(60, 1, 86_400),
  DATABASE_URL: url(['postgres:', 'postgresql:']),
  DATABASE_POOL_SIZE: int(10, 1, 200),
  DATABASE_STATEMENT_TIMEOUT_MS: int(15_000, 100, 3_600_000),
  DATABASE_CONNECT_TIMEOUT_MS: int(5_000, 100, 600_000),
  DATA_DIR: z.string().default('./.data'),
  EMBEDDED_PG_PORT: int(0, 0, 65535),
  REDIS_URL: url(['redis:', 'rediss:']),
  REDIS_KEY_PREFIX: z.string().default('threatwire:'),
  REDIS_COMMAND_TIMEOUT_MS: int(1_000, 50, 60_000),
  ADMIN_API_KEY: optionalString.refine((v) => v === undefined || v.length >= 24, {
    message: 'must be at least 24 characters',
  }),
  CORS_ORIGINS: optionalString,
  TRUST_PROXY: optionalString,
  RATE_LIMIT_POINTS: int(600, 0, 1_000_000),
  RATE_LIMIT_WINDOW_SECONDS: int(60, 1, 86_400),
  MAX_BODY_BYTES: int(1_048_576, 1024, 104_857_600),
  WS_MAX_PAYLOAD_BYTES: int(1_048_576, 1024, 104_857_600),
  WS_MAX_SUBSCRIPTIONS: int(100, 1, 10_000),
  WS_CONNECTION_INIT_TIMEOUT_MS: int(10_000, 100, 600_000),
  WS_MAX_SUBSCRIPTIONS_PER_KEY: int(200, 1, 1_000_000),
  WS_MAX_SUBSCRIPTIONS_PER_PROCESS: int(10_000, 1, 10_000_000),
  WS_RESUME_WINDOW_SECONDS: int(3_600, 1, 86_400),
  WS_KEEPALIVE_SECONDS: int(12, 1, 3_600),
  AUTH_KEY_CACHE_TTL_MS: int(10_000, 100, 600_000),
  AUTH_STALE_IF_ERROR_SECONDS: int(600, 0, 86_400),
  AUTH_REVOCATION_POLL_MS: int(1_000, 100, 600_000),
  AUTH_FAILURE_LIMIT: int(30, 1, 1_000_000),
  AUTH_FAILURE_WINDOW_SECONDS: int(60, 1, 86_400),
  QUERY_MAX_DEPTH: int(12, 2, 100),
  QUERY_MAX_ALIASES: int(30, 1, 1000),
  QUERY_MAX_TOKENS: int(5000, 100, 100_000),
  QUERY_MAX_DIRECTIVES: int(20, 1, 1000),
  QUERY_MAX_COST: int(50_000, 100, 10_000_000),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100, 120_000),
  GEOIP_COUNTRY_DB: optionalString,
  GEOIP_CITY_DB: optionalString,
  GEOIP_ASN_DB: optionalString,
  WORKERS: z.enum(['on', 'off', 'only']).default('on'),
  CROWDSEC_LAPI_URL: url(['http:', 'https:']),
  CROWDSEC_BOUNCER_KEY: optionalString,
  CROWDSEC_MACHINE_ID: optionalString,
  CROWDSEC_MACHINE_PASSWORD: optionalString,
  CROWDSEC_POLL_INTERVAL_MS: int(10_000, 100, 3_600_000),
  ABUSEIPDB_API_KEY: optionalString,
  ABUSEIPDB_BASE_URL: url(['http:', 'https:']),
  OTX_API_KEY: optionalString,
  OTX_BASE_URL: url(['http:', 'https:']),
  VIRUSTOTAL_API_KEY: optionalString,
  VIRUSTOTAL_BASE_URL: url(['http:', 'https:']),
  ABUSEIPDB_RATE_LIMITS: rateWindows('1000/86400'),
  OTX_RATE_LIMITS: rateWindows(''),
  VIRUSTOTAL_RATE_LIMITS: rateWindows('4/60,500/86400'),
  ABUSEIPDB_TIMEOUT_MS: int(10_000, 100, 300_000),
  OTX_TIMEOUT_MS: int(20_000, 100, 300_000),
  VIRUSTOTAL_TIMEOUT_MS: int(10_000, 100, 300_000),
  ABUSEIPDB_CONCURRENCY: int(4, 1, 100),
  OTX_CONCURRENCY: int(4, 1, 100),
  VIRUSTOTAL_CONCURRENCY: int(2, 1, 100),
  IOC_TTL_OK_SECONDS: int(86_400, 1, 31_536_000),
  IOC_TTL_ERROR_SECONDS: int(900, 1, 31_536_000),
  IOC_TTL_SKIPPED_SECONDS: int(3_600, 1, 31_536_000),
  IOC_COLLECTOR_ENABLED: bool(true),
  IOC_COLLECTOR_INTERVAL_MS: int(30_000, 100, 86_400_000),
  IOC_COLLECTOR_BATCH_SIZE: int(25, 1, 1_000),
  IOC_COLLECTOR_MAX_PER_RUN: int(100, 1, 100_000),
  IOC_REENRICH_RECENT_SECONDS: int(604_800, 0, 31_536_000),
  IOC_WATCH_MAX: int(1_000, 1, 10_000),
  IOC_LOOKUP_MAX: int(100, 1, 1_000),
  THREAT_INGEST_MAX_BATCH: int(1000, 1, 10_000),
  THREAT_RETENTION_DAYS: int(90, 0, 36_500),
  THREAT_ANOMALY_REFIT_MINUTES: int(60, 1, 10_080),
  THREAT_ANOMALY_SAMPLE: int(10_000, 256, 200_000),
  THREAT_TRAIN_INTERVAL_MINUTES: int(360, 1, 10_080),
  THREAT_MODEL_RELOAD_SECONDS: int(60, 1, 3600),
  WEBHOOK_DELIVERY_ENABLED: bool(true),
  WEBHOOK_POLL_INTERVAL_MS: int(500, 10, 60_000),
  WEBHOOK_BATCH_MAX_EVENTS: int(500, 1, 10_000),
  WEBHOOK_BATCH_WINDOW_MS: int(1_000, 0, 3_600_000),
  WEBHOOK_TIMEOUT_MS: int(10_000, 100, 120_000),
  WEBHOOK_CONCURRENCY: int(4, 1, 32),
  WEBHOOK_BACKOFF_BASE_MS: int(1_000, 10, 3_600_000),
  WEBHOOK_BACKOFF_MAX_MS: int(300_000, 10, 86_400_000),
  WEBHOOK_RETRY_FOR_SECONDS: int(86_400, 1, 604_800),
  WEBHOOK_PAUSE_AFTER_FAILURES: int(3, 1, 1_000),
  WEBHOOK_DELIVERY_RETENTION_DAYS: int(7, 0, 3_650),
  WEBHOOK_MAX: int(100, 1, 10_000),
  WEBHOOK_ALLOW_PRIVATE_CIDRS: cidrList,
});

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly host: string;
  readonly port: number;
  /**
   * Connections the kernel may queue before the server accepts them (capped by the
   * system's net.core.somaxconn): a fleet of consoles reconnecting after a deploy.
   */
  readonly listenBacklog: number;
  /** Origin the server is reached at; used for the default CORS allow-list. */
  readonly publicUrl: string | undefined;
  readonly log: {
    readonly level: string;
    readonly pretty: boolean;
    /** An HTTP operation this slow (ms) is logged on its own at warn. */
    readonly slowOperationMs: number;
    /** Seconds between the info lines that summarise HTTP operations. */
    readonly summarySeconds: number;
  };
  readonly database: {
    readonly url: string | undefined;
    readonly poolSize: number;
    readonly embeddedPort: number;
    /** Server-side statement_timeout of every session; the client gives up 5 s later (frozen server). */
    readonly statementTimeoutMs: number;
    /** Waiting for a new connection (or a free one from the pool) fails after this. */
    readonly connectTimeoutMs: number;
  };
  readonly dataDir: string;
  readonly redis: {
    readonly url: string | undefined;
    readonly keyPrefix: string;
    /** A command unanswered this long fails, and its connection is dropped and remade. */
    readonly commandTimeoutMs: number;
  };
  readonly adminApiKey: string | undefined;
  /** Explicit allow-list; empty means "only the server's own origin". */
  readonly corsOrigins: readonly string[];
  /**
   * Reverse proxies whose X-Forwarded-For is believed (addresses, CIDRs, or `loopback`,
   * `linklocal`, `uniquelocal`); empty: the client is the TCP peer.
   */
  readonly trustProxy: readonly string[];
  readonly rateLimit: { readonly points: number; readonly windowSeconds: number };
  readonly limits: {
    readonly maxBodyBytes: number;
    readonly wsMaxPayloadBytes: number;
    readonly wsMaxSubscriptions: number;
    readonly wsConnectionInitTimeoutMs: number;
    /** In-flight WebSocket operations of one API key across its sockets on one instance. */
    readonly wsMaxSubscriptionsPerKey: number;
    /** In-flight WebSocket operations on one instance, all keys together. */
    readonly wsMaxSubscriptionsPerProcess: number;
    /** How far back a subscription's `after` cursor may reach (replay from PostgreSQL). */
    readonly subscriptionResumeWindowMs: number;
    /** A socket that answers no ping within this is closed. */
    readonly wsKeepAliveMs: number;
    readonly maxDepth: number;
    readonly maxAliases: number;
    readonly maxTokens: number;
    readonly maxDirectives: number;
    readonly maxCost: number;
  };
  readonly auth: {
    /** A verified key is trusted this long before it is looked up again (open sockets included). */
    readonly keyCacheTtlMs: number;
    /** A key verified this recently keeps working while PostgreSQL is unreachable (0 = never). */
    readonly staleIfErrorSeconds: number;
    /** How often each instance asks PostgreSQL for keys revoked since its last look. */
    readonly revocationPollMs: number;
    /** Failed authentications per client address per window before RATE_LIMITED. */
    readonly failureLimit: number;
    readonly failureWindowSeconds: number;
  };
  readonly shutdownTimeoutMs: number;
  readonly geoip: {
    readonly countryDb: string | undefined;
    readonly cityDb: string | undefined;
    readonly asnDb: string | undefined;
  };
  readonly workers: 'on' | 'off' | 'only';
  readonly crowdsec: {
    readonly lapiUrl: string | undefined;
    readonly bouncerKey: string | undefined;
    readonly machineId: string | undefined;
    readonly machinePassword: string | undefined;
    /** How often the decisions and alerts pollers ask the LAPI. */
    readonly pollIntervalMs: number;
  };
  readonly sources: {
    readonly abuseipdb: SourceConfig;
    readonly otx: SourceConfig;
    readonly virustotal: SourceConfig;
  };
  readonly iocs: {
    /** How long a stored per-source result is served before it is fetched again, by status. */
    readonly ttlSeconds: { readonly ok: number; readonly error: number; readonly skipped: number };
    readonly collector: {
      readonly enabled: boolean;
      readonly intervalMs: number;
      readonly batchSize: number;
      /** At most this many IOCs per run. */
      readonly maxPerRun: number;
      /** Unwatched IOCs are refreshed only if looked up or sighted this recently (0: never). */
      readonly recentSeconds: number;
    };
    /** Most values one watchIocs call may carry. */
    readonly watchMax: number;
    /** Most values one lookupIocs call may carry. */
    readonly lookupMax: number;
  };
  readonly threats: {
    /** Most events one ingestThreatEvents call may carry. */
    readonly maxBatch: number;
    /** Events older than this (by occurredAt) are deleted; 0 keeps them forever. */
    readonly retentionDays: number;
    readonly anomalyRefitMinutes: number;
    /** Most recent events an anomaly refit is fitted on. */
    readonly anomalySample: number;
    readonly trainIntervalMinutes: number;
    /** How often an instance checks PostgreSQL for models stored by others (besides the event bus). */
    readonly modelReloadSeconds: number;
  };
  readonly webhooks: {
    /** Whether this instance's workers send deliveries (outbox rows are written regardless). */
    readonly deliveryEnabled: boolean;
    readonly pollIntervalMs: number;
    /** Most events in one request. */
    readonly batchMaxEvents: number;
    /** How long a batch that is not full waits for more events. */
    readonly batchWindowMs: number;
    /** One request, connection to end of the answer's head. */
    readonly timeoutMs: number;
    /** Deliveries one instance sends at the same time (each holds a database connection meanwhile). */
    readonly concurrency: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
    /** How long a delivery is retried before it fails. */
    readonly retryForSeconds: number;
    /** Failed deliveries in a row that pause a webhook. */
    readonly pauseAfterFailures: number;
    /** Finished deliveries are kept this long for `webhookDeliveries`; 0 keeps them. */
    readonly deliveryRetentionDays: number;
    readonly max: number;
    /** CIDRs of private, loopback or other non-public ranges webhooks may still reach. */
    readonly allowPrivateCidrs: readonly string[];
  };
}

export interface SourceConfig {
  readonly apiKey: string | undefined;
  readonly baseUrl: string;
  /** Request budget shared by all instances (through Redis when configured). */
  readonly rateLimits: readonly { readonly points: number; readonly durationSeconds: number }[];
  /** Whole lookup, retries included. */
  readonly timeoutMs: number;
  /** Requests in flight at once from one instance. */
  readonly concurrency: number;
}

export class ConfigError extends Error {
  constructor(readonly issues: readonly string[]) {
    super(`Invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

function parseOrigins(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '')
    .map((o) => {
      if (o === '*') return o;
      const u = new URL(o);
      return u.origin;
    });
}

/** TRUST_PROXY: a comma-separated list, each entry checked by the same library that applies it. */
function parseTrustProxy(value: string | undefined): string[] {
  const list = (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  try {
    proxyAddr.compile(list);
  } catch {
    throw new ConfigError([
      'TRUST_PROXY: must be a comma-separated list of addresses or CIDRs (e.g. 10.0.0.0/8) or loopback, linklocal, uniquelocal',
    ]);
  }
  return list;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  let corsOrigins: string[];
  try {
    corsOrigins = parseOrigins(e.CORS_ORIGINS);
  } catch {
    throw new ConfigError([
      'CORS_ORIGINS: must be a comma-separated list of origins such as https://soc.example',
    ]);
  }
  const trustProxy = parseTrustProxy(e.TRUST_PROXY);
  const config: Config = {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    listenBacklog: e.LISTEN_BACKLOG,
    publicUrl: e.PUBLIC_URL,
    log: {
      level: e.LOG_LEVEL,
      pretty: e.LOG_PRETTY,
      slowOperationMs: e.LOG_SLOW_OPERATION_MS,
      summarySeconds: e.LOG_SUMMARY_SECONDS,
    },
    database: {
      url: e.DATABASE_URL,
      poolSize: e.DATABASE_POOL_SIZE,
      embeddedPort: e.EMBEDDED_PG_PORT,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    },
    dataDir: e.DATA_DIR,
    redis: { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS },
    adminApiKey: e.ADMIN_API_KEY,
    corsOrigins,
    trustProxy,
    rateLimit: { points: e.RATE_LIMIT_POINTS, windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS },
    limits: {
      maxBodyBytes: e.MAX_BODY_BYTES,
      wsMaxPayloadBytes: e.WS_MAX_PAYLOAD_BYTES,
      wsMaxSubscriptions: e.WS_MAX_SUBSCRIPTIONS,
      wsConnectionInitTimeoutMs: e.WS_CONNECTION_INIT_TIMEOUT_MS,
      wsMaxSubscriptionsPerKey: e.WS_MAX_SUBSCRIPTIONS_PER_KEY,
      wsMaxSubscriptionsPerProcess: e.WS_MAX_SUBSCRIPTIONS_PER_PROCESS,
      subscriptionResumeWindowMs: e.WS_RESUME_WINDOW_SECONDS * 1000,
      wsKeepAliveMs: e.WS_KEEPALIVE_SECONDS * 1000,
      maxDepth: e.QUERY_MAX_DEPTH,
      maxAliases: e.QUERY_MAX_ALIASES,
      maxTokens: e.QUERY_MAX_TOKENS,
      maxDirectives: e.QUERY_MAX_DIRECTIVES,
      maxCost: e.QUERY_MAX_COST,
    },
    auth: {
      keyCacheTtlMs: e.AUTH_KEY_CACHE_TTL_MS,
      staleIfErrorSeconds: e.AUTH_STALE_IF_ERROR_SECONDS,
      revocationPollMs: e.AUTH_REVOCATION_POLL_MS,
      failureLimit: e.AUTH_FAILURE_LIMIT,
      failureWindowSeconds: e.AUTH_FAILURE_WINDOW_SECONDS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    geoip: { countryDb: e.GEOIP_COUNTRY_DB, cityDb: e.GEOIP_CITY_DB, asnDb: e.GEOIP_ASN_DB },
    workers: e.WORKERS,
    crowdsec: {
      lapiUrl: e.CROWDSEC_LAPI_URL,
      bouncerKey: e.CROWDSEC_BOUNCER_KEY,
      machineId: e.CROWDSEC_MACHINE_ID,
      machinePassword: e.CROWDSEC_MACHINE_PASSWORD,
      pollIntervalMs: e.CROWDSEC_POLL_INTERVAL_MS,
    },
    sources: {
      abuseipdb: {
        apiKey: e.ABUSEIPDB_API_KEY,
        baseUrl: e.ABUSEIPDB_BASE_URL ?? 'https://api.abuseipdb.com',
        rateLimits: e.ABUSEIPDB_RATE_LIMITS,
        timeoutMs: e.ABUSEIPDB_TIMEOUT_MS,
        concurrency: e.ABUSEIPDB_CONCURRENCY,
      },
      otx: {
        apiKey: e.OTX_API_KEY,
        baseUrl: e.OTX_BASE_URL ?? 'https://otx.alienvault.com',
        rateLimits: e.OTX_RATE_LIMITS,
        timeoutMs: e.OTX_TIMEOUT_MS,
        concurrency: e.OTX_CONCURRENCY,
      },
      virustotal: {
        apiKey: e.VIRUSTOTAL_API_KEY,
        baseUrl: e.VIRUSTOTAL_BASE_URL ?? 'https://www.virustotal.com',
        rateLimits: e.VIRUSTOTAL_RATE_LIMITS,
        timeoutMs: e.VIRUSTOTAL_TIMEOUT_MS,
        concurrency: e.VIRUSTOTAL_CONCURRENCY,
      },
    },
    iocs: {
      ttlSeconds: {
        ok: e.IOC_TTL_OK_SECONDS,
        error: e.IOC_TTL_ERROR_SECONDS,
        skipped: e.IOC_TTL_SKIPPED_SECONDS,
      },
      collector: {
        enabled: e.IOC_COLLECTOR_ENABLED,
        intervalMs: e.IOC_COLLECTOR_INTERVAL_MS,
        batchSize: e.IOC_COLLECTOR_BATCH_SIZE,
        maxPerRun: e.IOC_COLLECTOR_MAX_PER_RUN,
        recentSeconds: e.IOC_REENRICH_RECENT_SECONDS,
      },
      watchMax: e.IOC_WATCH_MAX,
      lookupMax: e.IOC_LOOKUP_MAX,
    },
    threats: {
      maxBatch: e.THREAT_INGEST_MAX_BATCH,
      retentionDays: e.THREAT_RETENTION_DAYS,
      anomalyRefitMinutes: e.THREAT_ANOMALY_REFIT_MINUTES,
      anomalySample: e.THREAT_ANOMALY_SAMPLE,
      trainIntervalMinutes: e.THREAT_TRAIN_INTERVAL_MINUTES,
      modelReloadSeconds: e.THREAT_MODEL_RELOAD_SECONDS,
    },
    webhooks: {
      deliveryEnabled: e.WEBHOOK_DELIVERY_ENABLED,
      pollIntervalMs: e.WEBHOOK_POLL_INTERVAL_MS,
      batchMaxEvents: e.WEBHOOK_BATCH_MAX_EVENTS,
      batchWindowMs: e.WEBHOOK_BATCH_WINDOW_MS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      backoffBaseMs: e.WEBHOOK_BACKOFF_BASE_MS,
      backoffMaxMs: e.WEBHOOK_BACKOFF_MAX_MS,
      retryForSeconds: e.WEBHOOK_RETRY_FOR_SECONDS,
      pauseAfterFailures: e.WEBHOOK_PAUSE_AFTER_FAILURES,
      deliveryRetentionDays: e.WEBHOOK_DELIVERY_RETENTION_DAYS,
      max: e.WEBHOOK_MAX,
      allowPrivateCidrs: e.WEBHOOK_ALLOW_PRIVATE_CIDRS,
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
