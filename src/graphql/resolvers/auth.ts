import type { ApiKeyRecord } from '../../auth/api-key-types.js';
import { connection, decodeCursor, encodeCursor, pageSize } from '../pagination.js';
import type { Resolvers } from '../generated.js';

const cursorOf = (k: ApiKeyRecord) => encodeCursor(k.createdAt, k.id);

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
      return connection(page.rows, page.hasNextPage, page.totalCount, cursorOf);
    },
  },
  Mutation: {
    createApiKey: async (_p, { name, role }, { services }) => {
      const { record, secret } = await services.apiKeys.create(name, role);
      return { apiKey: record, secret };
    },
    revokeApiKey: (_p, { id }, { services }) => services.apiKeys.revoke(id),
  },
};
