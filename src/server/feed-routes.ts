/**
 * Feeds and export downloads over plain HTTP, for firewalls, SIEMs and scripts:
 * `GET /feeds/blocklist.txt`, `/feeds/iocs.csv`, `/feeds/stix` (an API key in
 * `Authorization: Bearer` or `X-API-Key`, any role) and `GET /exports/download?token=…`
 * (the signed link is the credential). Errors are JSON: `{ "error": { code, message,
 * parameter? } }` with the status GraphQL requests get for the same code. A response
 * follows its key while it streams: revoking or changing the key cuts it
 * (stream-key-guard.ts).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hashKey } from '../auth/api-key-service.js';
import type { Principal } from '../auth/api-key-types.js';
import { clientBucket } from '../auth/client-address.js';
import { contentTypeOf } from '../feeds/export-service.js';
import type { FeedConditions, FeedResponse } from '../feeds/feed-types.js';
import type { Services } from '../graphql/context.js';
import { httpStatusOf } from '../graphql/error-mapping.js';
import { AppError, unauthenticated } from '../platform/errors.js';
import { classifyFailure } from '../platform/failure-classifier.js';
import type { Logger } from '../platform/logger.js';
import type { RequestRateLimiter } from '../platform/rate-limiter.js';
import type { Metrics } from './metrics.js';
import { apiKeyFromHeaders } from './origin.js';
import { StreamKeyGuard } from './stream-key-guard.js';

interface Deps {
  services: Services;
  rateLimiter: RequestRateLimiter;
  metrics: Metrics;
}

type Feed = (params: Record<string, unknown>, when: FeedConditions) => Promise<FeedResponse>;

export function registerFeedRoutes(app: FastifyInstance, deps: Deps): void {
  const { services } = deps;
  const feed = (run: (s: Services) => Feed) => async (req: FastifyRequest, reply: FastifyReply) => {
    let guard: StreamKeyGuard | undefined;
    try {
      const { principal, hash } = await authenticate(req, deps);
      // Before anything else, so a revocation from here on is heard.
      guard = new StreamKeyGuard(services.apiKeys, principal.keyId, async () => {
        const now = await services.apiKeys.verifyHash(hash);
        return sameGrant(principal, now) ? undefined : 'This API key changed';
      });
      if (services.apiKeys.knowsRevoked(hash)) throw unauthenticated('This API key has been revoked');
      const answer = await run(services)(req.query as Record<string, unknown>, {
        ifNoneMatch: req.headers['if-none-match'],
        headOnly: req.method === 'HEAD',
      });
      void reply.header('etag', answer.etag).header('cache-control', 'private, no-cache');
      if (answer.notModified) {
        guard.dispose();
        return await reply.code(304).send();
      }
      void reply.type(answer.contentType);
      if (answer.body === undefined) {
        guard.dispose();
        return await reply.send('');
      }
      const stream = streamOf(answer.body, guard);
      guard = undefined;
      return await reply.send(stream);
    } catch (err) {
      guard?.dispose();
      return sendError(reply, err, req.log as unknown as Logger);
    }
  };
  app.get(
    '/feeds/blocklist.txt',
    feed((s) => s.feeds.blocklist.bind(s.feeds)),
  );
  app.get(
    '/feeds/iocs.csv',
    feed((s) => s.feeds.iocsCsv.bind(s.feeds)),
  );
  app.get(
    '/feeds/stix',
    feed((s) => s.feeds.stix.bind(s.feeds)),
  );

  app.get<{ Querystring: { token?: unknown } }>('/exports/download', async (req, reply) => {
    try {
      const token = req.query.token;
      const grant = await services.exports.open(typeof token === 'string' ? token : '');
      await deps.rateLimiter.consume(grant.keyId);
      const ext = grant.format === 'CSV' ? 'csv' : 'jsonl';
      const role = (await services.apiKeys.linkSecretOf(grant.keyId))?.role;
      if (!role) throw unauthenticated('The API key this export link was made for has been revoked');
      // The link's own expiry bounds when a download may start, not how long it may run;
      // the key is what must stay valid.
      const guard = new StreamKeyGuard(services.apiKeys, grant.keyId, async () => {
        const key = await services.apiKeys.linkSecretOf(grant.keyId);
        if (!key) return 'The API key this export link was made for has been revoked';
        return key.role === role ? undefined : 'The API key this export link was made for changed';
      });
      return await reply
        .type(contentTypeOf(grant.format))
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${grant.kind.toLowerCase()}.${ext}"`)
        .send(streamOf(services.exports.lines(grant), guard));
    } catch (err) {
      return sendError(reply, err, req.log as unknown as Logger);
    }
  });
}

/**
 * A stream that asks for the next chunk only when the socket has room; destroyed, it
 * ends the generator. The guard is checked before each chunk, and destroys the stream
 * with its error the moment the key is lost (even while the client is not reading).
 */
function streamOf(chunks: AsyncIterable<string>, guard: StreamKeyGuard): Readable {
  const stream = Readable.from(
    (async function* () {
      for await (const c of chunks) {
        await guard.check();
        if (c.length > 0) yield Buffer.from(c, 'utf8');
      }
    })(),
    { objectMode: false },
  );
  guard.whenLost((err) => stream.destroy(err));
  stream.once('close', () => guard.dispose());
  return stream;
}

/** The same key with the same grants (a changed role or scope ends what it streams). */
const sameGrant = (was: Principal, now: Principal) => now.keyId === was.keyId && now.role === was.role;

async function authenticate(
  req: FastifyRequest,
  deps: Deps,
): Promise<{ principal: Principal; hash: string }> {
  try {
    const secret = apiKeyFromHeaders(req.headers);
    const principal = await deps.services.apiKeys.verify(secret, clientBucket(req.ip));
    await deps.rateLimiter.consume(principal.keyId);
    return { principal, hash: hashKey(secret ?? '') };
  } catch (err) {
    if (err instanceof AppError && err.code === 'UNAUTHENTICATED')
      deps.metrics.rejected.inc({ reason: 'auth' });
    if (err instanceof AppError && err.code === 'RATE_LIMITED')
      deps.metrics.rejected.inc({ reason: 'rate_limit' });
    throw err;
  }
}

function sendError(reply: FastifyReply, err: unknown, log: Logger) {
  const known = err instanceof AppError ? err : classifyFailure(err);
  if (!known) {
    log.error({ err }, 'feed request failed');
    return reply
      .code(500)
      .send({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' } });
  }
  const status = httpStatusOf(known.code);
  const after = known.details.retryAfterSeconds;
  if (typeof after === 'number') void reply.header('retry-after', String(after));
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  const parameter = known.details.argument;
  return reply.code(status).send({
    error: {
      code: known.code,
      message: known.message,
      ...(typeof parameter === 'string' ? { parameter } : {}),
    },
  });
}
