import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Resolvers } from './generated.js';

export const scalarResolvers: Resolvers = {
  DateTime: DateTimeResolver,
  JSON: JSONResolver,
};
