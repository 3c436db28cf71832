/**
 * Feeds and export downloads over plain HTTP, for firewalls, SIEMs and scripts:
 * `GET /feeds/blocklist.txt`, `/feeds/iocs.csv`, `/feeds/stix` (an API key in
 * `Authorization: Bearer` or `X-API-Key`, any role) and `GET /exports/download?token=…`
 * (the signed link is the credential). Errors are JSON: `{ "error": { code, message,
 * parameter? } }` with the status GraphQL requests get for the same code.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientBucket } from '../auth/client-address.js';
import { contentTypeOf } from '../feeds/export-service.js';
import type { FeedConditions, FeedResponse } from '../feeds/feed-types.js';
import type { Services } from '../graphql/context.js';
import { httpStatusOf } from '../graphql/error-mapping.js';
import { AppError } from '../platform/errors.js';
import { classifyFailure } from '../platform/failure-classifier.js';
import type { Logger } from '../platform/logger.js';
import type { RequestRateLimiter } from '../platform/rate-limiter.js';
import type { Metrics } from './metrics.js';
import { apiKeyFromHeaders } from './origin.js';

interface Deps {
  services: Services;
  rateLimiter: RequestRateLimiter;
  metrics: Metrics;
}

type Feed = (params: Record<string, unknown>, when: FeedConditions) => Promise<FeedResponse>;

export function registerFeedRoutes(app: FastifyInstance, deps: Deps): void {
  const { services } = deps;
  const feed = (run: (s: Services) => Feed) => async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      await authenticate(req, deps);
      const answer = await run(services)(req.query as Record<string, unknown>, {
        ifNoneMatch: req.headers['if-none-match'],
        headOnly: req.method === 'HEAD',
      });
      void reply.header('etag', answer.etag).header('cache-control', 'private, no-cache');
      if (answer.notModified) return await reply.code(304).send();
      void reply.type(answer.contentType);
      return await reply.send(answer.body === undefined ? '' : streamOf(answer.body));
    } catch (err) {
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
      return await reply
        .type(contentTypeOf(grant.format))
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${grant.kind.toLowerCase()}.${ext}"`)
        .send(streamOf(services.exports.lines(grant)));
    } catch (err) {
      return sendError(reply, err, req.log as unknown as Logger);
    }
  });
}

/** A stream that asks for the next chunk only when the socket has room; destroyed, it ends the generator. */
function streamOf(chunks: AsyncIterable<string>): Readable {
  return Readable.from(
    (async function* () {
      for await (const c of chunks) if (c.length > 0) yield Buffer.from(c, 'utf8');
    })(),
    { objectMode: false },
  );
}

async function authenticate(req: FastifyRequest, deps: Deps): Promise<void> {
  try {
    const principal = await deps.services.apiKeys.verify(
      apiKeyFromHeaders(req.headers),
      clientBucket(req.ip),
    );
    await deps.rateLimiter.consume(principal.keyId);
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
