import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { GraphQLError, type ParseOptions, type ValidationContext, type ValidationRule } from 'graphql';
import type { Config } from '../config.js';

/**
 * Query limits shared by both transports: Apollo applies them to HTTP, the graphql-ws
 * server applies the same rules and parse options to subscriptions (Apollo's plugins
 * never see WebSocket traffic).
 */
export interface QueryLimits {
  validationRules: ValidationRule[];
  parseOptions: ParseOptions;
}

export function createQueryLimits(limits: Config['limits'], onReject?: (limit: string) => void): QueryLimits {
  const reject = (limit: string) => (context: ValidationContext | null, error: GraphQLError) => {
    onReject?.(limit);
    // graphql-armor prefixes its messages with "Syntax Error:"; they are limit errors.
    const message = error.message.replace(/^Syntax Error:\s*/, '');
    const limitError = new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', limit } });
    if (!context) throw limitError;
    context.reportError(limitError);
  };
  const common = { exposeLimits: true, propagateOnRejection: false };
  return {
    parseOptions: { maxTokens: limits.maxTokens },
    validationRules: [
      maxDepthRule({ ...common, n: limits.maxDepth, onReject: [reject('maxDepth')] }),
      maxAliasesRule({ ...common, n: limits.maxAliases, onReject: [reject('maxAliases')] }),
      maxDirectivesRule({ ...common, n: limits.maxDirectives, onReject: [reject('maxDirectives')] }),
      costLimitRule({ ...common, maxCost: limits.maxCost, onReject: [reject('maxCost')] }),
    ],
  };
}
