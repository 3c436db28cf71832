import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type ExecutionArgs,
  type GraphQLSchema,
} from 'graphql';
import type { Context } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import type { Principal } from '../auth/api-key-types.js';
import type { Config } from '../config.js';
import { formatGraphQLError } from '../graphql/error-mapping.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { RequestRateLimiter } from '../platform/rate-limiter.js';
import type { Services } from './context.js';
import { Metrics } from './metrics.js';
import { apiKeyFromHeaders, type OriginPolicy } from './origin.js';
import type { QueryLimits } from './query-limits.js';
import { createWsTransport, type Extra } from './ws-transport.js';

interface SocketState {
  principal?: Principal;
  subscriptions: Set<string>;
}

type WsExtra = Extra & Record<PropertyKey, unknown>;
type WsContext = Context<Record<string, unknown> | undefined, WsExtra>;

/** graphql-ws on the HTTP server's port and path, with the same auth and limits as HTTP. */
export function createWsServer(opts: {
  schema: GraphQLSchema;
  services: Services;
  limits: QueryLimits;
  config: Config;
  rateLimiter: RequestRateLimiter;
  originPolicy: OriginPolicy;
  metrics: Metrics;
  logger: Logger;
}) {
  const { schema, services, limits, config, metrics, rateLimiter } = opts;
  const log = opts.logger.child({ component: 'graphql-ws' });
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.limits.wsMaxPayloadBytes });
  const states = new WeakMap<object, SocketState>();
  const stateOf = (ctx: WsContext): SocketState => {
    let s = states.get(ctx.extra.socket);
    if (!s) {
      s = { subscriptions: new Set() };
      states.set(ctx.extra.socket, s);
    }
    return s;
  };
  const fail = (err: AppError, limit?: string) => [
    new GraphQLError(err.message, {
      extensions: { ...err.details, code: err.code, ...(limit ? { limit } : {}) },
    }),
  ];
  const format = (errors: readonly GraphQLError[]) =>
    errors.map((e) => formatGraphQLError(e.toJSON(), e, log));

  const transport = createWsTransport<Record<string, unknown> | undefined, WsExtra>(
    {
      schema,
      connectionInitWaitTimeout: config.limits.wsConnectionInitTimeoutMs,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const fromParams = [
          params.apiKey,
          params.authorization,
          params.Authorization,
          params['x-api-key'],
        ].find((v): v is string => typeof v === 'string');
        const key = fromParams?.replace(/^Bearer\s+/i, '') ?? apiKeyFromHeaders(ctx.extra.request.headers);
        try {
          stateOf(ctx).principal = await services.apiKeys.verify(key);
        } catch {
          metrics.rejected.inc({ reason: 'ws_auth' });
          return false; // graphql-ws closes with 4403 Forbidden
        }
        metrics.wsConnections.inc();
        return true;
      },
      onClose: (ctx) => {
        const state = states.get(ctx.extra.socket);
        if (state?.principal) metrics.wsConnections.dec();
        if (state) metrics.wsSubscriptions.dec(state.subscriptions.size);
        states.delete(ctx.extra.socket);
      },
      onSubscribe: async (ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        const state = stateOf(ctx);
        const principal = state.principal;
        if (!principal) return fail(new AppError('UNAUTHENTICATED', 'Connection is not authenticated'));
        if (state.subscriptions.size >= config.limits.wsMaxSubscriptions) {
          metrics.rejected.inc({ reason: 'ws_subscriptions' });
          return fail(
            new AppError(
              'BAD_USER_INPUT',
              `At most ${config.limits.wsMaxSubscriptions} operations per socket`,
            ),
            'wsMaxSubscriptions',
          );
        }
        // Reserve the slot before any await, so concurrent subscribes cannot overshoot.
        state.subscriptions.add(id);
        const release = (errors: readonly GraphQLError[]) => {
          state.subscriptions.delete(id);
          return errors;
        };
        try {
          await rateLimiter.consume(principal.keyId);
        } catch (err) {
          metrics.rejected.inc({ reason: 'rate_limit' });
          if (err instanceof AppError) return release(fail(err));
          state.subscriptions.delete(id);
          throw err;
        }
        let document;
        try {
          document = parse(payload.query, limits.parseOptions);
        } catch (err) {
          const message = err instanceof Error ? err.message : 'Could not parse the query';
          const tokens = /tokens/.test(message);
          return release([
            new GraphQLError(message, {
              extensions: tokens
                ? { code: 'BAD_USER_INPUT', limit: 'maxTokens' }
                : { code: 'GRAPHQL_PARSE_FAILED' },
            }),
          ]);
        }
        const errors = validate(schema, document, [...specifiedRules, ...limits.validationRules]);
        if (errors.length > 0) return release(errors);
        metrics.wsSubscriptions.inc();
        metrics.requests.inc({
          operation: Metrics.operationLabel(payload.operationName),
          type: 'ws',
          outcome: 'accepted',
          transport: 'ws',
        });
        const requestId = randomUUID();
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: {
            principal,
            services,
            requestId,
            transport: 'ws',
            logger: log.child({ requestId, keyId: principal.keyId }),
          },
        };
      },
      onComplete: (ctx, id) => {
        const state = states.get(ctx.extra.socket);
        if (state?.subscriptions.delete(id)) metrics.wsSubscriptions.dec();
      },
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) } : undefined,
    },
    wss,
    { logger: log, isProd: config.env === 'production' },
  );

  return {
    wss,
    /** Called from the HTTP server's 'upgrade' event. */
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/graphql') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      const encrypted = 'encrypted' in socket && socket.encrypted === true;
      if (!opts.originPolicy.isAllowed(req.headers.origin, req.headers, encrypted)) {
        metrics.rejected.inc({ reason: 'ws_origin' });
        log.warn({ origin: req.headers.origin }, 'websocket origin refused');
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => transport.attach(ws, req, socket));
    },
    /** Close every socket with 1001 (Going Away) and stop the server. */
    async close(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await transport.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export type WsServer = ReturnType<typeof createWsServer>;
