import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  getOperationAST,
  GraphQLError,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
  type ExecutionArgs,
  type GraphQLSchema,
} from 'graphql';
import type { Context, OperationResult } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { hashKey } from '../auth/api-key-service.js';
import { clientBucket } from '../auth/client-address.js';
import { FEEDS_ONLY_MESSAGE } from '../auth/roles.js';
import { clientAddressOf } from './client-ip.js';
import type { Config } from '../config.js';
import { formatGraphQLError, toGraphQLError } from '../graphql/error-mapping.js';
import { AppError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { RequestRateLimiter } from '../platform/rate-limiter.js';
import type { Services } from '../graphql/context.js';
import { Metrics } from './metrics.js';
import { apiKeyFromHeaders, type OriginPolicy } from './origin.js';
import type { QueryLimits } from './query-limits.js';
import { nestingError } from './request-guards.js';
import { SubscriptionFanout } from './ws-fanout.js';
import { groupPlan, type GroupPlan } from './ws-resume.js';
import { createWsTransport, type Extra, type FrameOutput } from './ws-transport.js';
import {
  CLOSE_FORBIDDEN,
  CLOSE_TOO_MANY_FAILURES,
  CLOSE_TRY_AGAIN_LATER,
  WsSessions,
  type Session,
  type SlotLimit,
} from './ws-sessions.js';

const LIMIT_TEXT: Record<SlotLimit, string> = {
  wsMaxSubscriptions: 'operations per socket',
  wsMaxSubscriptionsPerKey: 'operations per API key on this server (across its sockets)',
  wsMaxSubscriptionsPerProcess: 'operations on this server; retry later',
};

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
  const sessions = new WsSessions(
    services.apiKeys,
    {
      perSocket: config.limits.wsMaxSubscriptions,
      perKey: config.limits.wsMaxSubscriptionsPerKey,
      perProcess: config.limits.wsMaxSubscriptionsPerProcess,
    },
    log,
    (delta) => metrics.wsSubscriptions.inc(delta),
  );
  // Kept after close (a WeakMap, gone with the socket) so late callbacks see `closed`.
  const states = new WeakMap<object, Session>();
  const stateOf = (ctx: WsContext): Session => {
    let s = states.get(ctx.extra.socket);
    if (!s) {
      s = {
        socket: ctx.extra.socket,
        operations: new Set(),
        running: new Set(),
        closed: false,
        counted: false,
      };
      states.set(ctx.extra.socket, s);
    }
    return s;
  };
  // Errors are shaped by the one error mapping (graphql/error-mapping.ts), as over HTTP.
  const fail = (err: AppError) => [toGraphQLError(err)];
  const format = (errors: readonly GraphQLError[]) =>
    errors.map((e) => formatGraphQLError(e.toJSON(), e, log));
  // One execution and one serialisation per event for every subscription of a group.
  const fanout = new SubscriptionFanout({
    format,
    onDrop: (field, count) => metrics.eventsDropped.inc({ topic: field }, count),
    onExecute: (field, phase) => metrics.subscriptionExecutions.inc({ field, phase }),
  });
  metrics.subscriptionGroups = () => fanout.groupCount();
  /** What the fan-out needs of an accepted subscription, by its execution context. */
  const joining = new WeakMap<object, { plan: GroupPlan; id: string; socket: WebSocket }>();

  const clientAddress = clientAddressOf(config.trustProxy);
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
        const state = stateOf(ctx);
        let principal;
        try {
          principal = await services.apiKeys.verify(key, clientBucket(clientAddress(ctx.extra.request)));
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          if (err.code === 'RATE_LIMITED') {
            metrics.rejected.inc({ reason: 'ws_auth_rate_limit' });
            sessions.end(state, CLOSE_TOO_MANY_FAILURES, err.message.slice(0, 120));
          } else if (err.code === 'UPSTREAM_UNAVAILABLE') {
            metrics.rejected.inc({ reason: 'ws_auth_unavailable' });
            sessions.end(state, CLOSE_TRY_AGAIN_LATER, 'API keys cannot be verified now; retry later');
          } else {
            metrics.rejected.inc({ reason: 'ws_auth' });
          }
          return false; // graphql-ws closes with 4403 Forbidden (unless closed above)
        }
        // Closed while the key was being checked: onClose has run, nothing to count.
        if (state.closed || ctx.extra.socket.readyState !== ctx.extra.socket.OPEN) return false;
        if (principal.feedsOnly) {
          metrics.rejected.inc({ reason: 'ws_feeds_only' });
          sessions.end(state, CLOSE_FORBIDDEN, `FORBIDDEN: ${FEEDS_ONLY_MESSAGE}`.slice(0, 120));
          return false;
        }
        sessions.attach(state, principal, hashKey(key!));
        if (state.closed) return false;
        state.counted = true;
        metrics.wsConnections.inc();
        return true;
      },
      onClose: (ctx) => {
        const state = stateOf(ctx);
        if (state.counted) metrics.wsConnections.dec();
        state.counted = false;
        sessions.detach(state);
      },
      onSubscribe: async (ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        const state = stateOf(ctx);
        if (!state.principal || state.closed)
          return fail(new AppError('UNAUTHENTICATED', 'Connection is not authenticated'));
        // Reserve the slot before any await, so concurrent subscribes cannot overshoot.
        const refused = sessions.reserve(state, id);
        if (refused) {
          metrics.rejected.inc({ reason: 'ws_subscriptions' });
          const max = sessions.limitOf(refused);
          return fail(
            new AppError('BAD_USER_INPUT', `At most ${max} ${LIMIT_TEXT[refused]}`, { max, limit: refused }),
          );
        }
        const release = (errors: readonly GraphQLError[]) => {
          sessions.release(state, id);
          return errors;
        };
        let principal;
        try {
          // A cache hit until the key's entry expires; then PostgreSQL decides again.
          principal = await sessions.recheck(state);
          if (!principal.unlimited) await rateLimiter.consume(principal.keyId);
        } catch (err) {
          sessions.release(state, id);
          if (!(err instanceof AppError)) throw err;
          if (err.code === 'RATE_LIMITED') metrics.rejected.inc({ reason: 'rate_limit' });
          return fail(err);
        }
        // Revoked (or the socket closed) while waiting: the operation must not run.
        if (state.closed)
          return release(fail(new AppError('UNAUTHENTICATED', 'This API key has been revoked')));
        // graphql-js parses nested literals recursively: refuse deep documents before parsing.
        const nested = nestingError(payload.query);
        if (nested) return release([nested]);
        let document;
        try {
          document = parse(payload.query, limits.parseOptions);
        } catch (err) {
          // A syntax error (the token limit is one); the error mapping gives it its code.
          const message = err instanceof Error ? err.message : 'Could not parse the query';
          return release([new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })]);
        }
        const errors = validate(schema, document, [...specifiedRules, ...limits.validationRules]);
        if (errors.length > 0) return release(errors);
        // A write runs only for a key PostgreSQL still holds current (request-guards.ts).
        if (getOperationAST(document, payload.operationName)?.operation === OperationTypeNode.MUTATION) {
          try {
            await services.apiKeys.confirm(principal);
          } catch (err) {
            if (!(err instanceof AppError)) throw err;
            return release(fail(err));
          }
          if (state.closed)
            return release(fail(new AppError('UNAUTHENTICATED', 'This API key has been revoked')));
        }
        sessions.started(state, id);
        metrics.observeOperation({
          operation: Metrics.operationLabel(payload.operationName),
          type: 'ws',
          outcome: 'accepted',
          transport: 'ws',
        });
        const requestId = randomUUID();
        const contextValue = {
          principal,
          services,
          requestId,
          transport: 'ws' as const,
          logger: log.child({ requestId, keyId: principal.keyId }),
        };
        const plan = groupPlan(principal.role, payload, document);
        joining.set(contextValue, { plan, id, socket: ctx.extra.socket });
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
        };
      },
      subscribe: (args): OperationResult => {
        const member = joining.get(args.contextValue as object);
        const output: FrameOutput | undefined = member && transport.outputOf(member.socket);
        if (!member || !output) throw new Error('subscription without an accepted operation');
        const { plan, id } = member;
        // A resumed operation replays on its own, then joins the group without its cursor.
        return plan.live
          ? fanout.resume(plan.key, plan.live, args, id, output)
          : fanout.subscribe(plan.key, args, id, output);
      },
      onComplete: (ctx, id) => {
        sessions.release(stateOf(ctx), id);
      },
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) } : undefined,
    },
    wss,
    { logger: log, isProd: config.env === 'production', keepAliveMs: config.limits.wsKeepAliveMs },
  );

  return {
    wss,
    /** Re-checks the keys of open sockets; run by the per-instance worker runner. */
    workers: [sessions.worker(Math.min(1_000, config.auth.keyCacheTtlMs))],
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
      sessions.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

export type WsServer = ReturnType<typeof createWsServer>;
