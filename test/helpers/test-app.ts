import { randomBytes } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startApp, type RunningApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/platform/logger.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

export interface TestApp {
  readonly url: string;
  readonly wsUrl: string;
  readonly origin: string;
  readonly adminKey: string;
  readonly config: Config;
  readonly app: RunningApp;
  readonly databaseUrl: string;
  /** POST a GraphQL operation over HTTP with the given key (admin by default; null = none). */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    key?: string | null,
  ): Promise<GqlResponse<T>>;
  /** A graphql-ws client that authenticates with the given key. */
  ws(key?: string, extra?: { origin?: string }): Client;
  stop(): Promise<void>;
}

export interface GqlResponse<T> {
  status: number;
  headers: Headers;
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> & { code?: string } }[];
}

/**
 * Starts the real app in this process on an ephemeral port against a fresh database
 * of its own (on DATABASE_URL's server, or the embedded one from global setup).
 */
export async function startTestApp(
  label: string,
  env: Record<string, string> = {},
  opts: { database?: TestDatabase; logLines?: string[] } = {},
): Promise<TestApp> {
  const db = opts.database ?? (await createTestDatabase(label));
  const adminKey = 'tw_test_' + randomBytes(24).toString('base64url');
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: db.url,
    ADMIN_API_KEY: adminKey,
    ...env,
  });
  // With `logLines`, every log line (JSON) is appended there instead of going to stdout.
  const lines = opts.logLines;
  const logger = lines
    ? createLogger(config, { write: (line: string) => void lines.push(line) })
    : createLogger(config);
  const app = await startApp(config, logger);
  const origin = new URL(app.url).origin;
  const clients: Client[] = [];

  return {
    url: app.url,
    wsUrl: app.wsUrl,
    origin,
    adminKey,
    config,
    app,
    databaseUrl: db.url,
    async gql<T>(query: string, variables?: Record<string, unknown>, key: string | null = adminKey) {
      const res = await fetch(app.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(key ? { authorization: `Bearer ${key}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      let body: { data?: T; errors?: GqlResponse<T>['errors'] } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw new Error(`non-JSON response ${res.status}: ${text.slice(0, 200)}`);
      }
      return { status: res.status, headers: res.headers, ...body };
    },
    ws(key: string = adminKey, extra: { origin?: string } = {}) {
      const client = createClient({
        url: app.wsUrl,
        webSocketImpl: class extends WebSocket {
          constructor(address: string, protocols?: string | string[]) {
            super(address, protocols, extra.origin ? { origin: extra.origin } : {});
          }
        },
        connectionParams: { apiKey: key },
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.allSettled(clients.map(async (c) => c.dispose()));
      await app.stop();
      if (!opts.database) await db.drop();
    },
  };
}

/** Collects the next `n` results of a subscription (or rejects with its error). */
export function collect<T>(client: Client, query: string, n: number, variables?: Record<string, unknown>) {
  const results: T[] = [];
  let unsubscribe: () => void = () => undefined;
  const done = new Promise<T[]>((resolve, reject) => {
    unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) {
            reject(Object.assign(new Error(value.errors[0]?.message ?? 'error'), { errors: value.errors }));
            return;
          }
          results.push(value.data as T);
          // Exactly the first n: frames that arrive together are handled before the caller
          // resumes, and later ones must not leak into the array it was given.
          if (results.length >= n) resolve(results.slice(0, n));
        },
        error: (err: unknown) => reject(normaliseWsError(err)),
        complete: () => resolve(results),
      },
    );
  });
  return { done, unsubscribe: () => unsubscribe() };
}

function normaliseWsError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (Array.isArray(err)) {
    const first = err[0] as { message?: string } | undefined;
    return Object.assign(new Error(first?.message ?? 'GraphQL error'), { errors: err });
  }
  if (err && typeof err === 'object' && 'code' in err) {
    const ev = err as { code: number; reason?: string };
    return Object.assign(new Error(`socket closed ${ev.code} ${ev.reason ?? ''}`), { closeCode: ev.code });
  }
  return new Error(String(err));
}

export const uniqueLabel = (base: string) => `${base}_${randomBytes(3).toString('hex')}`;
