import type { Resolvers } from '../generated.js';

/** Export links (the download itself is GET /exports/download?token=…, src/server/feed-routes.ts). */
export const exportResolvers: Resolvers = {
  Mutation: {
    exportThreatEvents: (_p, { filter, format }, { services, principal }) =>
      services.exports.create(principal.keyId, 'THREAT_EVENTS', filter, format),
    exportIocs: (_p, { filter, format }, { services, principal }) =>
      services.exports.create(principal.keyId, 'IOCS', filter, format),
    exportDecisions: (_p, { filter, format }, { services, principal }) =>
      services.exports.create(principal.keyId, 'DECISIONS', filter, format),
    exportAlerts: (_p, { filter, format }, { services, principal }) =>
      services.exports.create(principal.keyId, 'ALERTS', filter, format),
  },
};
