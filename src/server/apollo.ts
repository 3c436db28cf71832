import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestListener } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { formatGraphQLError } from '../graphql/error-mapping.js';
import type { Logger } from '../platform/logger.js';
import type { GraphQLContext } from '../graphql/context.js';
import { Metrics, type OperationSeries } from './metrics.js';
import type { OperationLog } from './operation-log.js';
import type { QueryLimits } from './query-limits.js';
import { answerUnavailable, confirmWriter, refuseOverHttp } from './request-guards.js';

export function createApollo(opts: {
  schema: GraphQLSchema;
  limits: QueryLimits;
  metrics: Metrics;
  logger: Logger;
  operations: OperationLog;
  extraPlugins: ApolloServerPlugin<GraphQLContext>[];
  /** True while the instance drains: answers then ask the client to close its connection. */
  isShuttingDown?: () => boolean;
}): ApolloServer<GraphQLContext> {
  const { logger } = opts;
  return new ApolloServer<GraphQLContext>({
    schema: opts.schema,
    csrfPrevention: true,
    // Shutdown is ours (src/main.ts): Apollo's own handler would re-raise the signal mid-drain.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    introspection: true,
    // Run only when a document is not yet in Apollo's document store (parsed and
    // validated once per distinct document, not per request).
    validationRules: opts.limits.validationRules,
    parseOptions: opts.limits.parseOptions,
    formatError: (formatted, error) => formatGraphQLError(formatted, error, logger),
    logger,
    plugins: [
      // The cache-control plugin costs 20–40 % throughput on list queries (measured).
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginLandingPageDisabled(),
      httpOperations(opts.metrics, opts.operations, logger, opts.isShuttingDown ?? (() => false)),
      ...opts.extraPlugins,
    ],
  });
}

/** What one operation (one document's operation node) records, worked out once. */
interface OperationTarget {
  /** Bounded label (Metrics.operationLabel). */
  operation: string;
  type: string;
  success: OperationSeries;
  error: OperationSeries;
}

/**
 * Everything threatwire does per GraphQL operation over HTTP, in one plugin: refuses
 * subscriptions, confirms a mutation's key with PostgreSQL, answers 503 when storage is
 * down (request-guards.ts), and records the operation in the metrics and the operation
 * log (see OperationLog). The labels and metric series of an operation are kept with its
 * node in Apollo's document store, so a repeated document costs no label work.
 */
function httpOperations(
  metrics: Metrics,
  operations: OperationLog,
  logger: Logger,
  isShuttingDown: () => boolean,
): ApolloServerPlugin<GraphQLContext> {
  const targets = new WeakMap<OperationDefinitionNode, OperationTarget>();
  const targetOf = (name: string | null | undefined, type: string): OperationTarget => {
    const operation = Metrics.operationLabel(name);
    const labels = { operation, type, transport: 'http' };
    return {
      operation,
      type,
      success: metrics.series({ ...labels, outcome: 'success' }),
      error: metrics.series({ ...labels, outcome: 'error' }),
    };
  };
  return {
    requestDidStart() {
      const started = performance.now();
      const listener: GraphQLRequestListener<GraphQLContext> = {
        async didResolveOperation({ operation, contextValue }) {
          refuseOverHttp(operation);
          await confirmWriter(operation, contextValue);
        },
        willSendResponse(ctx) {
          const ms = performance.now() - started;
          const { response } = ctx;
          // The answer's errors are the formatted ones, with the codes clients see.
          const errors =
            (response.body.kind === 'single' ? response.body.singleResult.errors : undefined) ?? ctx.errors;
          const failed = errors !== undefined && errors.length > 0;
          if (failed) answerUnavailable(response, errors);
          const node = ctx.operation;
          let target = node && targets.get(node);
          if (!target) {
            target = targetOf(ctx.operationName ?? ctx.request.operationName, node?.operation ?? 'unknown');
            if (node) targets.set(node, target);
          }
          (failed ? target.error : target.success).record(ms / 1000);
          operations.record({
            operation: target.operation,
            type: target.type,
            durationMs: ms,
            errorCodes: failed
              ? errors.map((e) => (typeof e.extensions?.code === 'string' ? e.extensions.code : 'UNKNOWN'))
              : undefined,
            log: () => (ctx.contextValue as Partial<GraphQLContext> | undefined)?.logger ?? logger,
          });
          // While draining, tell keep-alive clients to go away so close() need not wait for them.
          if (isShuttingDown()) response.http.headers.set('connection', 'close');
          return Promise.resolve();
        },
      };
      return Promise.resolve(listener);
    },
  };
}
