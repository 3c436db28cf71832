import { readFileSync } from 'node:fs';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { fromRoot } from '../platform/paths.js';
import { applyAuthDirective } from './auth-directive.js';
import type { Resolvers } from './generated.js';
import { authResolvers } from './resolvers/auth.js';
import { crowdsecResolvers } from './resolvers/crowdsec.js';
import { exportResolvers } from './resolvers/exports.js';
import { geoResolvers } from './resolvers/geo.js';
import { iocResolvers } from './resolvers/iocs.js';
import { statsResolvers } from './resolvers/stats.js';
import { systemResolvers } from './resolvers/system.js';
import { threatResolvers } from './resolvers/threats.js';
import { webhookResolvers } from './resolvers/webhooks.js';
import { scalarResolvers } from './scalars.js';

/** Resolver maps per domain; each later domain adds its own entry. */
const resolverMaps: Resolvers[] = [
  scalarResolvers,
  systemResolvers,
  authResolvers,
  geoResolvers,
  threatResolvers,
  crowdsecResolvers,
  statsResolvers,
  iocResolvers,
  exportResolvers,
  webhookResolvers,
];

export function buildSchema(): GraphQLSchema {
  const typeDefs = readFileSync(fromRoot('schema.graphql'), 'utf8');
  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: resolverMaps as never,
    inheritResolversFromInterfaces: true,
  });
  return applyAuthDirective(schema);
}
