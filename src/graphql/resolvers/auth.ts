import type { ApiKeyRecord } from '../../auth/api-key-types.js';
import { rowCount } from '../../platform/page.js';
import { connectionResolvers, decodeCursor, pageSize } from '../pagination.js';
import type { Resolvers } from '../generated.js';

export const authResolvers: Resolvers = {
  Query: {
    viewer: async (_p, _a, { principal, services }) => services.apiKeys.get(principal.keyId),
    apiKeys: async (_p, { first, after, includeRevoked }, { services }) => {
      const cursor = decodeCursor(after, 'uuid');
      const page = await services.apiKeys.list({
        first: pageSize(first),
        after: cursor && { createdAt: cursor.at, id: cursor.id },
        includeRevoked: includeRevoked ?? false,
      });
      const count = rowCount(page.totalCount);
      return { rows: page.rows, hasNextPage: page.hasNextPage, count: () => Promise.resolve(count) };
    },
  },
  ApiKeyConnection: connectionResolvers((k: ApiKeyRecord) => ({ at: k.createdAt, id: k.id })),
  Mutation: {
    createApiKey: async (_p, { name, role, unlimited, feedsOnly }, { services }) => {
      const { record, secret } = await services.apiKeys.create(name, role, {
        unlimited: unlimited ?? false,
        feedsOnly: feedsOnly ?? false,
      });
      return { apiKey: record, secret };
    },
    revokeApiKey: (_p, { id }, { services }) => services.apiKeys.revoke(id),
  },
};
