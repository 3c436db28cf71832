import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { isRole, roleAllows, type Role } from '../auth/roles.js';
import { forbidden } from '../platform/errors.js';
import type { GraphQLContext } from './context.js';

/**
 * Enforces `@auth(requires: ROLE)` from schema.graphql — the one visible place where
 * each field declares its minimum role. Authentication itself (a valid key for every
 * operation) happens before execution, so fields without the directive need READER.
 */
export function applyAuthDirective(schema: GraphQLSchema): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig, fieldName) => {
      const directive = getDirective(schema, fieldConfig, 'auth')?.[0];
      if (!directive) return fieldConfig;
      const required: unknown = directive.requires;
      if (!isRole(required)) throw new Error(`@auth on ${fieldName} names an unknown role`);
      const guard = <T extends GraphQLFieldResolver<unknown, GraphQLContext>>(inner: T): T =>
        ((source, args, context, info) => {
          assertRole(context, required, fieldName);
          return inner(source, args, context, info);
        }) as T;
      return {
        ...fieldConfig,
        resolve: guard(fieldConfig.resolve ?? defaultFieldResolver),
        ...(fieldConfig.subscribe ? { subscribe: guard(fieldConfig.subscribe) } : {}),
      };
    },
  });
}

/** For arguments that need more than their field's role (e.g. lookupIoc's refresh). */
export function assertRole(context: GraphQLContext, required: Role, field: string): void {
  if (!roleAllows(context.principal.role, required)) {
    throw forbidden(`${field} requires the ${required} role; this key has ${context.principal.role}`);
  }
}
