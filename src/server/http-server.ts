import { randomBytes } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { GraphQLFormattedError } from 'graphql';
import type { ApiKeyService } from '../auth/api-key-service.js';
import type { Principal } from '../auth/api-key-types.js';
import { clientBucket } from '../auth/client-address.js';
import { FEEDS_ONLY_MESSAGE } from '../auth/roles.js';
import type { Config } from '../config.js';
import { formatGraphQLError, httpStatusOf, toGraphQLError } from '../graphql/error-mapping.js';
import { AppError, forbidden } from '../platform/errors.js';
import { DEPENDENCY_RETRY_AFTER_S } from '../platform/failure-classifier.js';
import { LazyChildLogger, type Logger } from '../platform/logger.js';
import { fromRoot } from '../platform/paths.js';
import type { RequestRateLimiter } from '../platform/rate-limiter.js';
import { LazyLoggerContext, type GraphQLContext, type Services } from '../graphql/context.js';
import type { HealthService } from '../platform/health-service.js';
import type { Metrics } from './metrics.js';
import { corsHook } from './cors.js';
import { registerFeedRoutes } from './feed-routes.js';
import { apiKeyFromHeaders, type OriginPolicy } from './origin.js';
import { requestNestingError } from './request-guards.js';
import { registerStaticUi } from './static-ui.js';

/** This process's prefix of request ids: ids only need to tell requests apart in the logs. */
const REQUEST_ID_PREFIX = randomBytes(6).toString('base64url');
let requestCount = 0;
/** `<process prefix>-<counter in base 36>`: unique without a random UUID per request. */
const nextRequestId = () => `${REQUEST_ID_PREFIX}-${(++requestCount).toString(36)}`;

export function createFastify(config: Config, logger: Logger): FastifyInstance {
  return Fastify({
    // Lazy all the way down: each request's logger (request id bound) is Fastify's own
    // `child` of this one, and becomes a pino child only if it writes. (Through Fastify's
    // default child factory: a factory of our own would have each child validated.)
    loggerInstance: LazyChildLogger.of(logger, { component: 'http' }),
    // Operations are logged by the Apollo plugin (summaries, failures, slow ones: operation-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.maxBodyBytes,
    genReqId: nextRequestId,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Behind reverse proxies (TRUST_PROXY) req.ip is the client from X-Forwarded-For.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
  }) as unknown as FastifyInstance;
}

/** Routes: /graphql (Apollo), /feeds/*, /exports/:token, /healthz, /readyz, /metrics, /graphiql. */
export async function registerRoutes(
  app: FastifyInstance,
  deps: {
    apollo: ApolloServer<GraphQLContext>;
    services: Services;
    health: HealthService;
    metrics: Metrics;
    rateLimiter: RequestRateLimiter;
    originPolicy: OriginPolicy;
    isShuttingDown: () => boolean;
    serveGraphql: boolean;
  },
): Promise<void> {
  const { services, metrics, rateLimiter } = deps;

  // The one hook every request runs, a callback (no promise per request). While draining,
  // keep-alive clients are told to go away so close() need not wait for them (GraphQL
  // answers also say so when the drain began while they ran: apollo.ts).
  const cors = corsHook(deps.originPolicy);
  app.addHook('onRequest', (req, reply, done) => {
    if (deps.isShuttingDown()) void reply.header('connection', 'close');
    if (!cors(req, reply)) done();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) =>
    graphqlShapedError(err, req, reply),
  );
  const contextOf = (req: FastifyRequest, principal: Principal): GraphQLContext => {
    if (principal.feedsOnly) throw feedsOnlyRefusal();
    return new LazyLoggerContext(principal, services, req.id, 'http', req.log as unknown as Logger);
  };
  /** A feeds-only key asked for the GraphQL API: 403, FORBIDDEN. */
  const feedsOnlyRefusal = () => {
    metrics.rejected.inc({ reason: 'feeds_only' });
    return toGraphQLError(forbidden(FEEDS_ONLY_MESSAGE), 403);
  };

  /** Authentication and rate-limit failures as the GraphQL errors (and statuses) clients see. */
  const refusal = (err: unknown): unknown => {
    if (err instanceof AppError && err.code === 'UNAUTHENTICATED') {
      metrics.rejected.inc({ reason: 'auth' });
      return toGraphQLError(err, 401, { 'www-authenticate': 'Bearer' });
    }
    if (err instanceof AppError && (err.code === 'RATE_LIMITED' || err.code === 'UPSTREAM_UNAVAILABLE')) {
      // Too many requests or failed authentications (429), or keys cannot be verified (503).
      const limited = err.code === 'RATE_LIMITED';
      metrics.rejected.inc({ reason: limited ? 'rate_limit' : 'auth_unavailable' });
      return toGraphQLError(err, limited ? 429 : 503, {
        'retry-after': String(err.details.retryAfterSeconds),
      });
    }
    return err;
  };

  const checkedContext = async (req: FastifyRequest, key: string | undefined): Promise<GraphQLContext> => {
    let principal;
    try {
      principal = await services.apiKeys.verify(key, clientBucket(req.ip));
      // Unlimited keys (an ADMIN made them so) are never rate limited.
      if (!principal.unlimited) await rateLimiter.consume(principal.keyId);
    } catch (err) {
      throw refusal(err);
    }
    return contextOf(req, principal);
  };

  /** A key verified moments ago whose leased points ran out: only the limiter waits. */
  const limitedContext = async (req: FastifyRequest, principal: Principal): Promise<GraphQLContext> => {
    try {
      await rateLimiter.consume(principal.keyId);
    } catch (err) {
      throw refusal(err);
    }
    return contextOf(req, principal);
  };

  // A key verified moments ago with points in hand needs no I/O and no await: the common
  // case answers at once, everything else takes the checked path.
  const context = (req: FastifyRequest): Promise<GraphQLContext> => {
    // Refused before Apollo parses it (a 400 naming the limit), and before the key is looked at.
    const nested = requestNestingError(req);
    if (nested) return Promise.reject(nested);
    const key = apiKeyFromHeaders(req.headers);
    const fresh = services.apiKeys.verifyFresh(key);
    if (!fresh) return checkedContext(req, key);
    if (fresh.feedsOnly) return Promise.reject(feedsOnlyRefusal());
    if (fresh.unlimited || rateLimiter.tryConsume(fresh.keyId)) return Promise.resolve(contextOf(req, fresh));
    return limitedContext(req, fresh);
  };

  // WORKERS=only: a worker process keeps health and metrics but serves no API.
  if (deps.serveGraphql) {
    app.route({
      url: '/graphql',
      method: ['GET', 'POST', 'OPTIONS'],
      handler: fastifyApolloHandler(deps.apollo, { context }),
    });
    await registerStaticUi(app, { distDir: fromRoot('web', 'dist') });
    registerFeedRoutes(app, {
      services,
      rateLimiter: exemptingUnlimited(rateLimiter, services.apiKeys),
      metrics,
    });
  }

  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    if (deps.isShuttingDown()) return reply.code(503).send({ ready: false, reason: 'shutting down' });
    const r = await deps.health.ready();
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

export { fastifyApolloDrainPlugin };

/** `limiter`, passing every request of a key the API keys know to be unlimited. */
function exemptingUnlimited(limiter: RequestRateLimiter, apiKeys: ApiKeyService): RequestRateLimiter {
  return {
    mode: limiter.mode,
    consume: (key, points) => (apiKeys.isUnlimited(key) ? Promise.resolve() : limiter.consume(key, points)),
    tryConsume: (key) => apiKeys.isUnlimited(key) || limiter.tryConsume(key),
  };
}

/**
 * Fastify's own errors (body too large, bad JSON, unsupported media type) answered in
 * GraphQL's error shape, so clients see one format everywhere.
 */
function graphqlShapedError(
  err: Error & { statusCode?: number; code?: string },
  req: FastifyRequest,
  reply: FastifyReply,
) {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  const json = (code: number, error: GraphQLFormattedError) =>
    reply
      .code(code)
      .header('content-type', 'application/json; charset=utf-8')
      .send({ errors: [error] });
  if (status >= 500) {
    const error = formatGraphQLError({ message: err.message }, err, req.log as unknown as Logger);
    const code = String(error.extensions?.code);
    if (code === 'UPSTREAM_UNAVAILABLE') {
      const after = error.extensions?.retryAfterSeconds;
      void reply.header('retry-after', String(typeof after === 'number' ? after : DEPENDENCY_RETRY_AFTER_S));
    }
    return json(httpStatusOf(code), error);
  }
  const limit = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? { limit: 'maxBodyBytes' } : {};
  return json(status, { message: err.message, extensions: { code: 'BAD_USER_INPUT', ...limit } });
}
